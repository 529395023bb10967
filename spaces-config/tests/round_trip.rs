//! Property: any valid config, written back as front matter, parses to the same config; and
//! editing one key of a README leaves the others as they were.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use spaces_config::{
    check_readme, update_key, Color, CustomHeaders, EmbedderPolicy, Header, OAuthScope,
    OpenerPolicy, PreloadItem, PythonVersion, RepoId, ResourcePolicy, SdkVersion, SpaceConfig,
    StartupTimeout, Value, HUB_LICENSES,
};
use spaces_core::{AppPath, Flavor, Sdk, SpaceId, StorageTier};

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9 :#'\"\\-_.,\\[\\]{}|>&*!%@`]{0,20}",
        Just("3.10".to_owned()),
        Just("true".to_owned()),
        Just("null".to_owned()),
        Just("".to_owned()),
    ]
}

fn short_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..=60).prop_map(|v| v.into_iter().collect())
}

fn repo_id() -> impl Strategy<Value = RepoId> {
    "[a-zA-Z0-9_]{1,10}(/[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,8}[a-zA-Z0-9_])?"
        .prop_filter_map("valid id", |s| RepoId::parse(&s).ok())
}

fn pick<T: Clone + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    prop::sample::select(all)
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        "[a-z][a-z0-9 ]{0,8}[a-z0-9]".prop_map(Value::Plain),
        Just(Value::Plain(String::new())),
        "[0-9]{1,3}\\.[0-9]{1,3}".prop_map(Value::Plain),
        any_text().prop_map(Value::Str),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Seq),
            prop::collection::btree_map("[a-z]{1,5}", inner, 0..4).prop_map(|m| {
                Value::Map(m.into_iter().map(|(k, v)| (Value::Plain(k), v)).collect())
            }),
        ]
    })
}

fn preload() -> impl Strategy<Value = PreloadItem> {
    (
        repo_id(),
        prop::collection::vec("[a-z][a-z0-9_./]{0,6}", 0..3),
        "([0-9a-f]{7,40})?",
    )
        .prop_map(|(repo, files, rev)| {
            let mut s = repo.to_string();
            if !files.is_empty() {
                s.push(' ');
                s.push_str(&files.join(","));
                if !rev.is_empty() {
                    s.push(' ');
                    s.push_str(&rev);
                }
            }
            PreloadItem::parse(&s).unwrap()
        })
}

type Looks = (
    Option<String>,
    Option<&'static str>,
    Option<Color>,
    Option<Color>,
    Option<Header>,
    Option<String>,
    Vec<String>,
    Option<String>,
    Option<String>,
);
type Runtime = (
    Option<String>,
    Option<(u16, Option<u16>)>,
    Option<AppPath>,
    Option<u16>,
    Option<String>,
    [Option<bool>; 4],
    Option<u64>,
    Option<Flavor>,
    Option<StorageTier>,
);
type Access = (
    Vec<RepoId>,
    Vec<RepoId>,
    Option<String>,
    Vec<OAuthScope>,
    Option<u32>,
    Vec<String>,
    (
        Option<EmbedderPolicy>,
        Option<OpenerPolicy>,
        Option<ResourcePolicy>,
    ),
    Vec<PreloadItem>,
);

fn looks() -> BoxedStrategy<Looks> {
    (
        prop::option::of(any_text()),
        prop::option::of(pick(&["🚀", "👩‍🔬", "🇫🇷", "❤️", "1️⃣", "🔥🚀"])),
        prop::option::of(pick(Color::ALL)),
        prop::option::of(pick(Color::ALL)),
        prop::option::of(pick(Header::ALL)),
        prop::option::of(short_text()),
        prop::collection::vec(any_text(), 0..4),
        prop::option::of("[a-z0-9/]{0,12}"),
        prop::option::of(prop_oneof![
            pick(HUB_LICENSES).prop_map(str::to_owned),
            any_text().prop_filter("not blank", |s| !s.is_empty())
        ]),
    )
        .boxed()
}

fn runtime() -> BoxedStrategy<Runtime> {
    (
        prop::option::of("[0-9]{1,2}(\\.[0-9]{1,2}){0,2}(b[0-9]|rc[0-9]|\\.dev[0-9])?"),
        prop::option::of((0u16..20, prop::option::of(0u16..30))),
        prop::option::of(
            "[a-z][a-z0-9_]{0,4}(/[a-z0-9_]{1,4}){0,2}\\.(py|html)"
                .prop_map(|p| AppPath::new(&p).unwrap()),
        ),
        prop::option::of(1u16..=65535),
        prop::option::of("/[a-zA-Z0-9/_.-]{0,12}"),
        any::<[Option<bool>; 4]>(),
        prop::option::of(1u64..200_000),
        prop::option::of(pick(Flavor::KNOWN)),
        prop::option::of(pick(&StorageTier::ALL)),
    )
        .boxed()
}

fn access() -> BoxedStrategy<Access> {
    (
        prop::collection::vec(repo_id(), 0..3),
        prop::collection::vec(repo_id(), 0..3),
        prop::option::of("[a-z]{1,5}/[a-z]{1,5}"),
        prop::collection::vec(pick(OAuthScope::ALL), 0..4),
        prop::option::of(1u32..=43200),
        prop::collection::vec("[a-zA-Z0-9 _-]{0,8}", 0..3),
        (
            prop::option::of(pick(EmbedderPolicy::ALL)),
            prop::option::of(pick(OpenerPolicy::ALL)),
            prop::option::of(pick(ResourcePolicy::ALL)),
        ),
        prop::collection::vec(preload(), 0..3),
    )
        .boxed()
}

fn config() -> BoxedStrategy<SpaceConfig> {
    (
        pick(&Sdk::ALL),
        looks(),
        runtime(),
        access(),
        prop::collection::btree_map("x_[a-z]{1,6}", value(), 0..3),
    )
        .prop_map(|(sdk, l, r, a, extra)| {
            let mut c = SpaceConfig::new(sdk);
            (
                c.title,
                c.emoji,
                c.color_from,
                c.color_to,
                c.header,
                c.short_description,
                c.tags,
            ) = (l.0, l.1.map(str::to_owned), l.2, l.3, l.4, l.5, l.6);
            c.thumbnail =
                l.7.map(|p| url::Url::parse(&format!("https://example.com/{p}")).unwrap());
            c.license = l.8;
            if matches!(sdk, Sdk::Gradio | Sdk::Streamlit) {
                c.sdk_version = r.0.and_then(|v| SdkVersion::parse(&v));
            }
            c.python_version = r.1.map(|(minor, patch)| PythonVersion { minor, patch });
            (c.app_file, c.app_port, c.base_path) = (r.2, r.3, r.4);
            [c.full_width, c.pinned, c.hf_oauth, c.disable_embedding] = r.5;
            c.startup_duration_timeout = r.6.and_then(StartupTimeout::from_secs);
            (c.suggested_hardware, c.suggested_storage) = (r.7, r.8);
            (c.models, c.datasets) = (a.0, a.1);
            c.duplicated_from = a.2.map(|s| s.parse::<SpaceId>().unwrap());
            (
                c.hf_oauth_scopes,
                c.hf_oauth_expiration_minutes,
                c.hf_oauth_authorized_org,
            ) = (a.3, a.4, a.5);
            c.custom_headers = CustomHeaders {
                embedder_policy: a.6 .0,
                opener_policy: a.6 .1,
                resource_policy: a.6 .2,
            };
            c.preload_from_hub = a.7;
            c.extra = extra.into_iter().collect();
            c
        })
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn write_back_then_parse_gives_the_same_config(c in config()) {
        let written = c.to_front_matter();
        let checked = check_readme(&written).unwrap();
        prop_assert!(checked.errors().next().is_none(), "{written}\n{:?}", checked.diagnostics);
        prop_assert_eq!(checked.config.as_ref(), Some(&c), "{}", written);
    }

    #[test]
    fn editing_one_key_keeps_the_rest(c in config(), title in any_text(), crlf in any::<bool>()) {
        let mut readme = format!("{}\n# Body\n\n---\nnot yaml: [\n", c.to_front_matter());
        if crlf {
            readme = readme.replace('\n', "\r\n");
        }
        let mut d = c.clone();
        d.title = Some(title);
        let edited = update_key(&readme, &d, "title").unwrap();
        prop_assert_eq!(check_readme(&edited).unwrap().config, Some(d));
        let body = |t: &str| spaces_config::FrontMatter::find(t).unwrap().body(t).to_owned();
        prop_assert_eq!(body(&edited), body(&readme));
        // Every line of the old front matter but the title's is still there, in order.
        let kept: Vec<&str> = readme.lines().filter(|l| !l.starts_with("title:")).collect();
        let now: Vec<&str> = edited.lines().filter(|l| !l.starts_with("title:")).collect();
        prop_assert_eq!(kept, now);
    }
}
