//! The bench behind spaces-runtime/scripts/k8s-scheduler-bench.sh: the `spaces` scheduler and
//! kube-scheduler 1.20 side by side on one API server, same nodes, same pods (the comparison
//! Kubernetes' scheduler_perf makes). Prints a Markdown table; asserts nothing about time.
//!
//! Method, for each node count: create the nodes (no kubelet), wait until the node lifecycle
//! controller has tainted them unreachable (so nothing changes under the runs); then for each
//! scheduler in turn: create all pods first while the scheduler is not running (kube-scheduler
//! stopped with SIGSTOP; ours not started), start the clock, let it run (SIGCONT; or start
//! ours, cold: it lists nodes and pods first), stop the clock when a watch has seen every pod
//! bound; check every node's allocatable and every GPU pod's model; delete the pods (grace 0).
//!
//! Runs only with `SPACES_K8S_SCHED_BENCH=1` (the script sets it) and
//! `SPACES_BENCH_KUBE_SCHEDULER_PID` (the harness's kube-scheduler).
#![cfg(feature = "kubernetes")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::float_arithmetic
)]

mod kubernetes_sched;

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Node;
use kube::api::ListParams;
use kube::{Api, Client};
use kubernetes_sched as k;
use spaces_runtime::kubernetes::scheduler::{SchedulerConfig, SpacesScheduler};

fn signal(pid: &str, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, pid])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill {sig} {pid}");
}

/// Waits (at most 150 s) until 95% of the nodes carry the unreachable NoSchedule taint.
async fn wait_tainted(client: &Client, tag: &str, n: usize) {
    let api: Api<Node> = Api::all(client.clone());
    let lp = ListParams::default().labels(&format!("spaces-sched-test={tag}"));
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        let nodes = api.list(&lp).await.unwrap();
        let tainted = nodes
            .items
            .iter()
            .filter(|n| {
                n.spec
                    .as_ref()
                    .and_then(|s| s.taints.as_ref())
                    .is_some_and(|t| t.iter().any(|t| t.key == "node.kubernetes.io/unreachable"))
            })
            .count();
        if tainted * 100 >= n * 95 || Instant::now() > deadline {
            eprintln!("{tainted}/{n} nodes tainted unreachable");
            tokio::time::sleep(Duration::from_secs(3)).await;
            return;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

struct Row {
    scheduler: String,
    nodes: usize,
    pods: usize,
    secs: f64,
    used: usize,
    cpu_mean: f64,
    cpu_max: f64,
    mem_mean: f64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spaces_vs_kube_scheduler() {
    if std::env::var("SPACES_K8S_SCHED_BENCH").as_deref() != Ok("1") {
        println!("SKIPPED: the scheduler bench runs from spaces-runtime/scripts/k8s-scheduler-bench.sh (SPACES_K8S_SCHED_BENCH=1)");
        return;
    }
    let Some(client) = k::cluster("spaces_vs_kube_scheduler").await else {
        return;
    };
    let kube_pid =
        std::env::var("SPACES_BENCH_KUBE_SCHEDULER_PID").expect("SPACES_BENCH_KUBE_SCHEDULER_PID");
    let node_counts: Vec<usize> = std::env::var("SPACES_BENCH_NODES")
        .unwrap_or_else(|_| "1000,5000".into())
        .split(',')
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let pods_n: usize = std::env::var("SPACES_BENCH_PODS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    // (label, schedulerName, pid to SIGSTOP/SIGCONT; none: ours, started in-process)
    let mut schedulers: Vec<(String, String, Option<String>)> = vec![(
        "kube-scheduler 1.20".into(),
        "default-scheduler".into(),
        Some(kube_pid),
    )];
    // Optional: another kube-scheduler process, `label:schedulerName:pid` (the script starts one
    // with client QPS raised, to show kube-scheduler without its default client rate limit).
    if let Ok(extra) = std::env::var("SPACES_BENCH_EXTRA_SCHEDULER") {
        let parts: Vec<&str> = extra.splitn(3, ':').collect();
        if let [label, name, pid] = parts[..] {
            schedulers.push((label.into(), name.into(), Some(pid.into())));
        }
    }
    schedulers.push(("spaces".into(), "spaces".into(), None));
    let mut rows = Vec::new();
    for &n in &node_counts {
        let tag = format!("bench{n}");
        k::delete_nodes(&client, &tag).await;
        let nodes = k::node_specs(&tag, n);
        let t = Instant::now();
        k::create_nodes(&client, &tag, &nodes).await;
        eprintln!("{n} nodes created in {:.1}s", t.elapsed().as_secs_f64());
        wait_tainted(&client, &tag, n).await;
        // What a cold start costs before the first placement: listing the nodes (in pages of
        // 500, as kube-rs' watcher does).
        let t = Instant::now();
        let all: Api<Node> = Api::all(client.clone());
        let mut listed = 0;
        let mut lp = ListParams::default().limit(500);
        loop {
            let page = all.list(&lp).await.unwrap();
            listed += page.items.len();
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(c) => lp = lp.continue_token(&c),
                None => break,
            }
        }
        eprintln!(
            "listing {listed} nodes took {:.1}s",
            t.elapsed().as_secs_f64()
        );
        let ns = format!("bench-{n}-{}", std::process::id());
        k::namespace(&client, &ns).await;
        for (label, name, pid) in &schedulers {
            let pods = k::pod_specs("p", pods_n);
            if let Some(pid) = pid {
                signal(pid, "-STOP");
            }
            let t = Instant::now();
            k::create_pods(&client, &ns, &pods, name).await;
            eprintln!("{pods_n} pods created in {:.1}s", t.elapsed().as_secs_f64());
            let start = Instant::now();
            let ours = match pid {
                Some(pid) => {
                    signal(pid, "-CONT");
                    None
                }
                None => {
                    let config = SchedulerConfig::new("spaces").in_namespace(ns.clone());
                    Some(tokio::spawn(
                        SpacesScheduler::new(client.clone(), config).run(),
                    ))
                }
            };
            let (end, bound) = k::wait_bound(&client, &ns, pods_n, Duration::from_secs(1200)).await;
            let secs = end.duration_since(start).as_secs_f64();
            if let Some(task) = ours {
                task.abort();
            }
            let util = k::check_fit(&nodes, &bound);
            let used = util.len().max(1);
            let scheduler = label.clone();
            let row = Row {
                scheduler: scheduler.clone(),
                nodes: n,
                pods: pods_n,
                secs,
                used: util.len(),
                cpu_mean: util.iter().map(|u| u.0 as f64).sum::<f64>() / used as f64 / 10.0,
                cpu_max: util.iter().map(|u| u.0).max().unwrap_or(0) as f64 / 10.0,
                mem_mean: util.iter().map(|u| u.1 as f64).sum::<f64>() / used as f64 / 10.0,
            };
            eprintln!("{scheduler}: {pods_n} pods on {n} nodes in {secs:.1}s");
            rows.push(row);
            k::delete_pods(&client, &ns).await;
        }
        k::delete_namespace(&client, &ns).await;
        k::delete_nodes(&client, &tag).await;
    }
    println!();
    println!("| nodes | pods | scheduler | time to bind all (s) | pods bound/s | nodes used | mean cpu use of used nodes | max cpu use | mean memory use |");
    println!("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in &rows {
        println!(
            "| {} | {} | {} | {:.1} | {:.0} | {} | {:.0}% | {:.0}% | {:.0}% |",
            r.nodes,
            r.pods,
            r.scheduler,
            r.secs,
            r.pods as f64 / r.secs,
            r.used,
            r.cpu_mean,
            r.cpu_max,
            r.mem_mean
        );
    }
    println!();
    for &n in &node_counts {
        let rate = |s: &str| {
            rows.iter()
                .find(|r| r.nodes == n && r.scheduler == s)
                .map(|r| r.pods as f64 / r.secs)
        };
        let Some(ours) = rate("spaces") else {
            continue;
        };
        for (label, _, _) in schedulers.iter().filter(|s| s.2.is_some()) {
            if let Some(theirs) = rate(label) {
                println!(
                    "{n} nodes: spaces binds {:.2}x as many pods per second as {label}",
                    ours / theirs
                );
            }
        }
    }
}
