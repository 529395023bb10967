//! `ClientBuilder::from_vars` reads what the official client reads (`HF_ENDPOINT`,
//! `HF_TOKEN`, the token file under `HF_TOKEN_PATH`/`HF_HOME`), and `SleepTime` parses the
//! way the CLI writes it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spaces_client::{ClientBuilder, SleepTime};

#[test]
fn from_env_reads_what_the_official_client_reads() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "  hf_from_file\r\n").unwrap();
    let home = dir.path().to_str().unwrap().to_owned();
    let vars = |pairs: Vec<(&'static str, String)>| {
        move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    };
    // HF_ENDPOINT (trailing / stripped), HF_TOKEN first.
    let c = ClientBuilder::from_vars(vars(vec![
        ("HF_ENDPOINT", "http://127.0.0.1:9/".into()),
        ("HF_TOKEN", "hf_env".into()),
        ("HF_HOME", home.clone()),
    ]))
    .build()
    .unwrap();
    assert_eq!(c.endpoint(), "http://127.0.0.1:9");
    assert!(c.has_token());
    // The token file under HF_HOME.
    let c = ClientBuilder::from_vars(vars(vec![("HF_HOME", home.clone())]))
        .build()
        .unwrap();
    assert!(c.has_token());
    assert_eq!(c.endpoint(), "https://huggingface.co");
    // HF_TOKEN_PATH wins over HF_HOME; an empty token is no token.
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let c = ClientBuilder::from_vars(vars(vec![
        ("HF_HOME", home.clone()),
        ("HF_TOKEN_PATH", empty.to_str().unwrap().into()),
    ]))
    .build()
    .unwrap();
    assert!(!c.has_token());
    // HF_HUB_DISABLE_IMPLICIT_TOKEN turns the lookup off.
    let c = ClientBuilder::from_vars(vars(vec![
        ("HF_TOKEN", "hf_env".into()),
        ("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1".into()),
    ]))
    .build()
    .unwrap();
    assert!(!c.has_token());
    // A bad endpoint is a configuration error.
    assert!(ClientBuilder::default()
        .endpoint("ftp://x")
        .build()
        .is_err());
}

#[test]
fn sleep_time_parses_like_the_cli_writes_it() {
    assert_eq!("never".parse::<SleepTime>().unwrap(), SleepTime::Never);
    assert_eq!("-1".parse::<SleepTime>().unwrap(), SleepTime::Never);
    assert_eq!(
        "3600".parse::<SleepTime>().unwrap(),
        SleepTime::Seconds(3600)
    );
    assert!("-5".parse::<SleepTime>().is_err());
    assert!("soon".parse::<SleepTime>().is_err());
    assert_eq!(SleepTime::Never.to_wire(), -1);
}
