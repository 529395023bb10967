//! Parsing and validating a typical Space front matter (target: under 50 µs), against a naive
//! baseline in the same run: a `key: value` line splitter that understands no YAML and checks
//! nothing. Run with `cargo bench -p spaces-benches --bench config`.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use spaces_config::{check_readme, node::parse_yaml, set_key, FrontMatter, Value};

/// A typical README: 20 keys of the reference, block and flow lists, a nested mapping, and a body.
const README: &str = "---
title: Whisper Large V3
emoji: 🎙️
colorFrom: indigo
colorTo: pink
sdk: gradio
sdk_version: 4.44.1
python_version: 3.10
app_file: app.py
short_description: Transcribe speech in 99 languages
models:
  - openai/whisper-large-v3
  - openai/whisper-tiny
datasets: [mozilla-foundation/common_voice_11_0]
tags: [audio, speech-recognition, whisper]
thumbnail: https://huggingface.co/front/thumbnails/v2-2.png
pinned: true
license: apache-2.0
hf_oauth: true
hf_oauth_scopes: [openid, profile, read-repos]
startup_duration_timeout: 1h
custom_headers:
  cross-origin-embedder-policy: require-corp
  cross-origin-opener-policy: same-origin
preload_from_hub:
  - openai/whisper-large-v3 config.json,model.safetensors
suggested_hardware: l4x1
---

# Whisper

A demo of speech recognition.
";

/// The naive baseline: split the lines between the fences at the first `:`.
fn naive(readme: &str) -> Vec<(&str, &str)> {
    let mut lines = readme.lines();
    let mut out = Vec::new();
    if lines.next() != Some("---") {
        return out;
    }
    for line in lines {
        if line == "---" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim(), v.trim()));
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("front_matter");
    g.bench_function("check_readme (parse + validate)", |b| {
        b.iter(|| check_readme(black_box(README)))
    });
    g.bench_function("raw mirror only (parse, positions)", |b| {
        b.iter(|| {
            let fm = FrontMatter::find(black_box(README)).ok()?;
            parse_yaml(fm.yaml(README), fm.yaml_first_line).ok()
        })
    });
    g.bench_function("naive baseline (line split, no YAML, no checks)", |b| {
        b.iter(|| naive(black_box(README)))
    });
    let config = check_readme(README).ok().and_then(|c| c.config);
    g.bench_function("write back (to_front_matter)", |b| {
        b.iter(|| config.as_ref().map(|c| c.to_front_matter()))
    });
    g.bench_function("edit one key (set_key)", |b| {
        b.iter(|| set_key(black_box(README), "sdk_version", &Value::string("5.0.1")))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
