//! Finding the Python interpreter a Space asks for with `python_version`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

/// The interpreter for `python_version` (`3.x` or `3.x.y`), when this machine has it: `python3.x`
/// on `PATH` whose version matches. Returns its path and full version.
pub(super) async fn find_interpreter(
    default: &Path,
    wanted: Option<(u16, Option<u16>)>,
) -> Result<(PathBuf, String), String> {
    let candidates: Vec<PathBuf> = match wanted {
        None => vec![default.to_path_buf()],
        Some((minor, _)) => {
            let name = format!("python3.{minor}");
            let mut found: Vec<PathBuf> = std::env::var_os("PATH")
                .map(|path| {
                    std::env::split_paths(&path)
                        .map(|dir| dir.join(&name))
                        .filter(|p| p.is_file())
                        .collect()
                })
                .unwrap_or_default();
            found.push(default.to_path_buf());
            found
        }
    };
    let mut seen = Vec::new();
    for python in candidates {
        let Some(version) = interpreter_version(&python).await else {
            continue;
        };
        seen.push(format!("{version} at {}", python.display()));
        let matches = match wanted {
            None => true,
            Some((minor, patch)) => {
                let mut parts = version.split('.').skip(1);
                let m = parts.next().and_then(|p| p.parse::<u16>().ok());
                let p = parts.next().and_then(|p| p.parse::<u16>().ok());
                m == Some(minor) && (patch.is_none() || p == patch)
            }
        };
        if matches {
            return Ok((python, version));
        }
    }
    Err(if seen.is_empty() {
        "no working python3 found".to_owned()
    } else {
        format!("this machine has Python {}", seen.join(", "))
    })
}

async fn interpreter_version(python: &Path) -> Option<String> {
    let out = Command::new(python)
        .args([
            "-I",
            "-c",
            "import sys; print('%d.%d.%d' % sys.version_info[:3])",
        ])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|v| !v.is_empty())
}
