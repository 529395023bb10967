//! The JSON shapes of the Hub's Spaces API (`shared/spec/hub-api.md`): request bodies read field
//! by field ([`body`]), and the runtime, Space info and hardware objects the server writes.

pub mod body;
pub mod hardware;
pub mod info;
pub mod runtime;

use spaces_core::Timestamp;

/// A timestamp the way the Hub writes them: `2025-01-01T00:00:00.000Z`.
pub fn iso(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso_has_milliseconds() {
        let ts: spaces_core::Timestamp = "2026-11-01T10:00:00.5Z".parse().unwrap();
        assert_eq!(super::iso(ts), "2026-11-01T10:00:00.500Z");
    }
}
