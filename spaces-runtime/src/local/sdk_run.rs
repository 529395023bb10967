//! How each Python SDK is launched, like the Hub launches it.
//!
//! - Gradio: `python -u ./<app_file>`, the server's address and port in `GRADIO_SERVER_NAME` and
//!   `GRADIO_SERVER_PORT` (set for every Python app), analytics off (a built Space needs no
//!   network).
//! - Streamlit: `python -m streamlit run ./<app_file> --server.port <port> --server.address
//!   127.0.0.1 --server.headless true --browser.gatherUsageStats false` (with its environment;
//!   without one, `streamlit` is not installed and the app file runs as a plain script).
//!
//! An app with an environment runs that environment's interpreter, with its `bin` first on
//! `PATH` and `VIRTUAL_ENV` set; one without runs the machine's `python3`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use spaces_core::{AppPath, Sdk};

use super::build::{app_argument, image_env_key};
use super::fork_server::{preload_modules, ForkServer};
use super::python_env::{sdk_package, EnvLease};
use super::LocalRuntime;
use crate::Error;

/// A planned start: the program, its arguments, the variables it adds, and the hold on its
/// environment.
#[derive(Debug)]
pub(super) struct Launch {
    /// The interpreter.
    pub program: PathBuf,
    /// The interpreter's flags (`-u`), not given to a forked app.
    pub flags: Vec<OsString>,
    /// The arguments after the flags: the app file (or `-m streamlit run ...`).
    pub args: Vec<OsString>,
    /// Variables set for the app before its own (`PATH`, `VIRTUAL_ENV`, SDK settings).
    pub env: Vec<(&'static str, OsString)>,
    /// The command line as logged.
    pub shown: String,
    /// The environment's lease, kept while the instance lives.
    pub lease: Option<EnvLease>,
    /// The environment's ready fork server, for a warm start.
    pub fork_server: Option<Arc<ForkServer>>,
}

impl LocalRuntime {
    /// How to run the image in `image_dir` (an app of `sdk` in `app_file`) on `port`; `python`
    /// is the machine's interpreter, used when the image has no environment.
    pub(super) fn launch_plan(
        &self,
        image_dir: &Path,
        sdk: Sdk,
        app_file: &AppPath,
        port: u16,
        python: &Path,
    ) -> Result<Launch, Error> {
        let key = image_env_key(image_dir).map_err(Error::io(format!(
            "reading the environment of image {}",
            image_dir.display()
        )))?;
        let app = app_argument(app_file).into_os_string();
        let Some(key) = key else {
            return Ok(Launch {
                program: python.to_path_buf(),
                flags: vec!["-u".into()],
                args: vec![app],
                env: Vec::new(),
                shown: format!("python3 {app_file}"),
                lease: None,
                fork_server: None,
            });
        };
        let env = self
            .python_envs
            .ready(&key)
            .ok_or_else(|| Error::NotFound {
                what: format!(
                "python environment {key} of image {} (evicted from the cache; build the Space \
                 again)",
                image_dir.display()
            ),
            })?;
        let mut path = OsString::from(env.bin());
        if let Some(outer) = std::env::var_os("PATH") {
            path.push(":");
            path.push(outer);
        }
        let mut vars = vec![
            ("PATH", path),
            ("VIRTUAL_ENV", env.venv.clone().into_os_string()),
        ];
        let port = port.to_string();
        let (args, shown): (Vec<OsString>, String) = match sdk {
            Sdk::Streamlit => {
                vars.push(("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false".into()));
                let args = [
                    "-m",
                    "streamlit",
                    "run",
                    "APP",
                    "--server.port",
                    &port,
                    "--server.address",
                    "127.0.0.1",
                    "--server.headless",
                    "true",
                    "--browser.gatherUsageStats",
                    "false",
                ];
                let shown = args
                    .join(" ")
                    .replace("-m ", "")
                    .replace("APP", app_file.as_str());
                let args = args
                    .iter()
                    .map(|a| if *a == "APP" { app.clone() } else { a.into() })
                    .collect();
                (args, shown)
            }
            _ => {
                vars.push(("GRADIO_ANALYTICS_ENABLED", "False".into()));
                (vec![app], format!("python {app_file}"))
            }
        };
        let requirements =
            std::fs::read_to_string(env.venv.with_file_name("requirements.txt")).ok();
        let package = sdk_package(sdk).unwrap_or("gradio");
        let fork_server = self.fork_servers.get_or_warm(
            &env,
            || self.python_envs.lease(&env),
            &preload_modules(package, requirements.as_deref()),
        );
        Ok(Launch {
            program: env.python(),
            flags: vec!["-u".into()],
            args,
            env: vars,
            shown: format!("{shown} (python environment {key})"),
            lease: Some(self.python_envs.lease(&env)),
            fork_server,
        })
    }
}
