//! `--byzantine` and `--byzantine-sends`: which models take them (and why the others do not),
//! their saved model flags, and their part of the report's model line.

use crate::Protocol;
use ballot_models::cluster::ClusterConfig;

/// Refuses `--byzantine` for the models where it means nothing, with the reason, and
/// `--byzantine-sends` or `--byzantine-forge` (`options`) without `--byzantine 1`.
pub fn refuse_unsupported(
    byzantine: Option<usize>,
    options: bool,
    protocol: Protocol,
) -> Result<(), String> {
    let on = byzantine.unwrap_or(0) > 0;
    if options && !on {
        return Err(
            "--byzantine-sends and --byzantine-forge shape the forgeries of --byzantine 1; \
             give it too"
                .into(),
        );
    }
    if !on {
        return Ok(());
    }
    let why = match protocol {
        Protocol::Paxos | Protocol::MultiPaxos | Protocol::Raft => return Ok(()),
        Protocol::PrimaryBackup | Protocol::ActiveActive => {
            "with its 2 servers, one liar leaves one honest server and nothing to agree with; a \
             lying primary answers its clients anything, as any server a client trusts can \
             (docs/checking.md)"
        }
        Protocol::TwoPhaseCommit => {
            "every decision comes from one process that is believed (the coordinator's, or a \
             peer's answer in the termination protocol), and there is no quorum: a liar tells \
             one participant commit and another abort (docs/checking.md)"
        }
    };
    Err(format!(
        "--byzantine: {} does not take it: {why}",
        protocol.name()
    ))
}

/// The Byzantine flags of a model with a Byzantine server, for the saved model flags.
pub fn flags(cluster: &ClusterConfig) -> Vec<String> {
    let mut f = vec![
        "--byzantine".into(),
        cluster.byzantine.to_string(),
        "--byzantine-sends".into(),
        cluster.byzantine_sends.to_string(),
    ];
    if !cluster.byzantine_forge.is_empty() {
        f.push("--byzantine-forge".into());
        f.push(cluster.byzantine_forge.join(","));
    }
    f
}

/// ", server 2 Byzantine (up to 2 forged messages)", or nothing.
pub fn summary(cluster: &ClusterConfig) -> String {
    match cluster.byzantine_server() {
        None => String::new(),
        Some(liar) => format!(
            ", server {liar} Byzantine (up to {} forged message{}{})",
            cluster.byzantine_sends,
            if cluster.byzantine_sends == 1 {
                ""
            } else {
                "s"
            },
            if cluster.byzantine_forge.is_empty() {
                String::new()
            } else {
                format!(": {} only", cluster.byzantine_forge.join(", "))
            }
        ),
    }
}
