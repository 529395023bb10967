use super::*;

fn check(yaml: &str) -> Checked {
    check_yaml(yaml, 2).unwrap()
}

fn only_error(yaml: &str) -> Diagnostic {
    let c = check(yaml);
    let errs: Vec<_> = c.errors().cloned().collect();
    assert_eq!(errs.len(), 1, "{errs:#?}");
    errs[0].clone()
}

#[test]
fn minimal_configs_for_every_sdk() {
    for sdk in ["gradio", "docker", "static", "streamlit"] {
        let c = check(&format!("sdk: {sdk}\n"));
        assert!(c.is_valid(), "{sdk}: {:?}", c.diagnostics);
    }
    let c = check("sdk: streamlit\n");
    assert_eq!(c.warnings().count(), 1);
    assert!(c.diagnostics[0].message.contains("deprecated"));
}

#[test]
fn missing_sdk_points_at_the_fence() {
    let d = only_error("title: x\n");
    assert_eq!((d.key.as_str(), d.line, d.column), ("sdk", 1, 1));
    let d = only_error("sdk: flask\n");
    assert!(
        d.message.contains("\"flask\" is not one of gradio"),
        "{}",
        d.message
    );
}

#[test]
fn versions_keep_their_written_form() {
    let c = check("sdk: gradio\nsdk_version: 4.0\npython_version: 3.10\n")
        .config
        .unwrap();
    assert_eq!(c.sdk_version.unwrap().as_str(), "4.0");
    assert_eq!(c.python_version.unwrap().to_string(), "3.10");
    let d = only_error("sdk: gradio\npython_version: 2.7\n");
    assert_eq!((d.line, d.column, d.value.as_deref()), (3, 17, Some("2.7")));
}

#[test]
fn all_problems_are_collected() {
    let c = check("sdk: gradio\ncolorFrom: orange\ncolorTo: teal\napp_port: 0\nemoji: A\nfoo: 1\n");
    assert_eq!(c.errors().count(), 4, "{:#?}", c.diagnostics);
    // app_port on gradio and the unknown key are warnings
    assert!(c.warnings().any(|w| w.key == "foo"));
    assert!(c.config.is_none());
}

#[test]
fn warnings_keep_the_config_valid() {
    let c = check("sdk: docker\nsdk_version: 1.0\nlicense: my-own\nauthor: me\nhardware: t4-small\nemoji: 🔥🚀\n");
    let keys: Vec<_> = c.warnings().map(|d| d.key.as_str()).collect();
    assert_eq!(
        keys,
        ["sdk_version", "license", "author", "hardware", "emoji"]
    );
    assert!(c.diagnostics[3]
        .message
        .contains("did you mean suggested_hardware"));
    let cfg = c.config.unwrap();
    assert_eq!(cfg.extra.len(), 2);
}

#[test]
fn emoji_messages_say_what_is_wrong() {
    let d = only_error("sdk: gradio\nemoji: ðŸ“ˆ\n");
    assert!(d.message.contains("mojibake"), "{}", d.message);
    let d = only_error("sdk: gradio\nemoji: é\n");
    assert!(d.message.contains("letter or digit"), "{}", d.message);
    let d = only_error("sdk: gradio\nemoji: \"\\u2022\"\n");
    assert!(d.message.contains("U+2022"), "{}", d.message);
}

#[test]
fn app_file_outside_the_repository_is_an_error() {
    for bad in [
        "/etc/passwd",
        "../x.py",
        "src/../../x.py",
        "./app.py",
        "a//b.py",
        "\"a\\\\b.py\"",
    ] {
        let d = only_error(&format!("sdk: gradio\napp_file: {bad}\n"));
        assert_eq!(d.key, "app_file", "{bad}");
        assert!(d.message.contains("inside the repository"), "{}", d.message);
        assert!(check(&format!("sdk: gradio\napp_file: {bad}\n"))
            .config
            .is_none());
    }
    let c = check("sdk: gradio\napp_file: src/main.py\n");
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let cfg = c.config.unwrap();
    assert_eq!(
        cfg.app_file.as_ref().map(AppPath::as_str),
        Some("src/main.py")
    );
    assert_eq!(cfg.app_file().as_str(), "src/main.py");
    let cfg = check("sdk: static\n").config.unwrap();
    assert_eq!(cfg.app_file(), Sdk::Static.default_app_path());
}

#[test]
fn duplicate_keys_are_errors() {
    let d = only_error("sdk: gradio\ntitle: a\ntitle: b\n");
    assert!(
        d.message.contains("set twice (first on line 3)"),
        "{}",
        d.message
    );
}

#[test]
fn each_rule() {
    let bad = [
        "base_path: app",
        "short_description: 0123456789012345678901234567890123456789012345678901234567890",
        "models: [openai/whisper, bad--id]",
        "thumbnail: not a url",
        "thumbnail: ftp://x.org/a.png",
        "hf_oauth: true\nhf_oauth_scopes: [openid, admin]",
        "hf_oauth: true\nhf_oauth_expiration_minutes: 43201",
        "startup_duration_timeout: 30",
        "custom_headers:\n  cross-origin-opener-policy: require-corp",
        "custom_headers:\n  x-frame-options: deny",
        "preload_from_hub:\n  - a/b c,d main",
        "suggested_hardware: h100x9",
        "suggested_storage: huge",
        "pinned: yes",
        "header: big",
        "duplicated_from: alice",
        "title: [a, b]",
    ];
    for b in bad {
        let c = check(&format!("sdk: gradio\n{b}\n"));
        assert_eq!(c.errors().count(), 1, "{b}: {:#?}", c.diagnostics);
    }
    let good = [
        "suggested_hardware: l40sx8",
        "suggested_hardware: zero-a10g",
        "suggested_storage: large",
        "hf_oauth: true\nhf_oauth_authorized_org: acme",
        "hf_oauth: true\nhf_oauth_authorized_org: [acme, foo]\nhf_oauth_expiration_minutes: 43200",
        "startup_duration_timeout: 1h30m",
        "preload_from_hub:\n  - a/b\n  - c/d x.json,y.bin 0123abcd",
        "emoji: \"\\U0001F9E0\"",
        "emoji: 👩‍🔬",
        "custom_headers:\n  cross-origin-embedder-policy: credentialless\n  cross-origin-resource-policy: cross-origin",
    ];
    for g in good {
        let c = check(&format!("sdk: gradio\n{g}\n"));
        assert_eq!(c.diagnostics, [], "{g}");
    }
}
