//! The network Spaces' containers join, and what of the egress rule the engine enforces.
//!
//! The rule of a Space (`spaces_core::EgressRule::SPACES`): outbound connections only to ports
//! 80, 443 and 8080.
//!
//! Enforced by this backend, through the Engine API alone:
//! - every container joins one bridge network ([`super::DockerConfig::network`]) created with
//!   `com.docker.network.bridge.enable_icc=false`: Spaces cannot open connections to each other;
//! - the app port is the only one published, and only on `127.0.0.1` of the host.
//!
//! Not enforced: the destination-port filter on outbound traffic. The engine API has no such
//! knob; it takes a host firewall rule on the network's bridge interface, which needs root on the
//! host (`NET_ADMIN`), so the backend does not install it. [`host_rule`] gives the exact
//! `iptables` commands for an operator; with them in place, traffic from the Spaces' bridge to
//! any port other than 80, 443 and 8080 is rejected (DNS to the engine's embedded resolver stays
//! inside the container and is not affected). Connections from a container to the host's own
//! addresses go through the host's `INPUT` chain, not `DOCKER-USER`: an operator who wants those
//! filtered too adds the same rules to `INPUT` for the bridge.

use std::collections::HashMap;

use bollard::models::NetworkCreateRequest;
use bollard::query_parameters::InspectNetworkOptions;
use spaces_core::EgressRule;

use super::{engine_error, status_of, DockerRuntime};
use crate::Error;

/// The bridge option that turns inter-container traffic off.
const ICC_OFF: (&str, &str) = ("com.docker.network.bridge.enable_icc", "false");

/// Creates the Spaces' network when it is missing (one creation at a time in this process: the
/// engine of API 1.41 would accept two networks of the same name). Once it is known to exist,
/// this costs nothing; [`forget_network`] makes the next call check again.
pub(crate) async fn ensure_network(rt: &DockerRuntime) -> Result<(), Error> {
    let mut known = rt.network_lock.lock().await;
    if *known {
        return Ok(());
    }
    match rt
        .docker
        .inspect_network(&rt.network, None::<InspectNetworkOptions>)
        .await
    {
        Ok(_) => {
            *known = true;
            return Ok(());
        }
        Err(e) if status_of(&e) == Some(404) => {}
        Err(e) => {
            return Err(engine_error(format!("inspecting network {}", rt.network))(
                e,
            ))
        }
    }
    rt.docker
        .create_network(NetworkCreateRequest {
            name: rt.network.clone(),
            driver: Some("bridge".into()),
            options: Some(HashMap::from([(ICC_OFF.0.into(), ICC_OFF.1.into())])),
            labels: Some(rt.labels(None, None)),
            ..Default::default()
        })
        .await
        .map_err(engine_error(format!("creating network {}", rt.network)))?;
    *known = true;
    Ok(())
}

/// The network was found missing (removed from outside): check it again next time.
pub(crate) async fn forget_network(rt: &DockerRuntime) {
    *rt.network_lock.lock().await = false;
}

/// The host firewall commands that enforce the egress rule on the Spaces' network: run as root
/// on the engine's host. Creates the network first if needed (its bridge is named after its id).
pub async fn host_rule(rt: &DockerRuntime) -> Result<Vec<String>, Error> {
    ensure_network(rt).await?;
    let network = rt
        .docker
        .inspect_network(&rt.network, None::<InspectNetworkOptions>)
        .await
        .map_err(engine_error(format!("inspecting network {}", rt.network)))?;
    let bridge = network
        .options
        .as_ref()
        .and_then(|o| o.get("com.docker.network.bridge.name").cloned())
        .or_else(|| {
            network
                .id
                .as_ref()
                .map(|id| format!("br-{}", &id[..id.len().min(12)]))
        })
        .unwrap_or_else(|| "docker0".into());
    Ok(rules_for_bridge(&bridge, EgressRule::SPACES))
}

/// The `iptables` commands that allow only `rule`'s ports out of `bridge` (replies to inbound
/// connections, such as the published app port's, stay allowed).
pub fn rules_for_bridge(bridge: &str, rule: EgressRule) -> Vec<String> {
    let ports: Vec<String> = rule.allowed_ports().iter().map(u16::to_string).collect();
    let ports = ports.join(",");
    vec![
        format!("iptables -I DOCKER-USER -i {bridge} ! -o {bridge} -j REJECT"),
        format!("iptables -I DOCKER-USER -i {bridge} ! -o {bridge} -p tcp -m multiport --dports {ports} -j RETURN"),
        format!("iptables -I DOCKER-USER -i {bridge} ! -o {bridge} -p udp -m multiport --dports {ports} -j RETURN"),
        format!("iptables -I DOCKER-USER -i {bridge} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_name_the_allowed_ports() {
        let rules = rules_for_bridge("br-123", EgressRule::SPACES);
        assert!(rules.iter().any(|r| r.contains("--dports 80,443,8080")));
        assert!(rules[0].ends_with("-j REJECT"));
    }
}
