//! `custom_headers`: the three cross-origin isolation headers a Space may set, each with its
//! closed set of values.

use crate::keyword::keyword_enum;

keyword_enum! {
    /// The header names a Space may set.
    HeaderName {
        /// `cross-origin-embedder-policy`
        EmbedderPolicy => "cross-origin-embedder-policy",
        /// `cross-origin-opener-policy`
        OpenerPolicy => "cross-origin-opener-policy",
        /// `cross-origin-resource-policy`
        ResourcePolicy => "cross-origin-resource-policy",
    }
}

keyword_enum! {
    /// `cross-origin-embedder-policy` values.
    EmbedderPolicy {
        /// `unsafe-none`
        UnsafeNone => "unsafe-none",
        /// `require-corp`
        RequireCorp => "require-corp",
        /// `credentialless`
        Credentialless => "credentialless",
    }
}

keyword_enum! {
    /// `cross-origin-opener-policy` values.
    OpenerPolicy {
        /// `same-origin`
        SameOrigin => "same-origin",
        /// `same-origin-allow-popups`
        SameOriginAllowPopups => "same-origin-allow-popups",
        /// `unsafe-none`
        UnsafeNone => "unsafe-none",
    }
}

keyword_enum! {
    /// `cross-origin-resource-policy` values.
    ResourcePolicy {
        /// `same-site`
        SameSite => "same-site",
        /// `same-origin`
        SameOrigin => "same-origin",
        /// `cross-origin`
        CrossOrigin => "cross-origin",
    }
}

/// The headers set by `custom_headers`; `None` for each one not set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CustomHeaders {
    /// `cross-origin-embedder-policy`.
    pub embedder_policy: Option<EmbedderPolicy>,
    /// `cross-origin-opener-policy`.
    pub opener_policy: Option<OpenerPolicy>,
    /// `cross-origin-resource-policy`.
    pub resource_policy: Option<ResourcePolicy>,
}

impl CustomHeaders {
    /// Whether no header is set.
    pub fn is_empty(&self) -> bool {
        *self == CustomHeaders::default()
    }

    /// The headers that are set, as `(name, value)` in the reference's order.
    pub fn entries(&self) -> Vec<(HeaderName, &'static str)> {
        let mut out = Vec::new();
        if let Some(v) = self.embedder_policy {
            out.push((HeaderName::EmbedderPolicy, v.as_str()));
        }
        if let Some(v) = self.opener_policy {
            out.push((HeaderName::OpenerPolicy, v.as_str()));
        }
        if let Some(v) = self.resource_policy {
            out.push((HeaderName::ResourcePolicy, v.as_str()));
        }
        out
    }

    /// Sets one header from its written value; `Err` with the accepted values when it is not one.
    pub fn set(&mut self, name: HeaderName, value: &str) -> Result<(), String> {
        match name {
            HeaderName::EmbedderPolicy => {
                self.embedder_policy =
                    Some(EmbedderPolicy::parse(value).ok_or_else(EmbedderPolicy::expected)?);
            }
            HeaderName::OpenerPolicy => {
                self.opener_policy =
                    Some(OpenerPolicy::parse(value).ok_or_else(OpenerPolicy::expected)?);
            }
            HeaderName::ResourcePolicy => {
                self.resource_policy =
                    Some(ResourcePolicy::parse(value).ok_or_else(ResourcePolicy::expected)?);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_checks_values_per_header() {
        let mut h = CustomHeaders::default();
        assert!(h.is_empty());
        h.set(HeaderName::EmbedderPolicy, "require-corp").unwrap();
        h.set(HeaderName::OpenerPolicy, "same-origin").unwrap();
        let err = h
            .set(HeaderName::ResourcePolicy, "same-origin-allow-popups")
            .unwrap_err();
        assert_eq!(err, "same-site, same-origin, cross-origin");
        assert_eq!(h.entries().len(), 2);
    }
}
