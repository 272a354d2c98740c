//! The models of the lecture's problems that consensus solves (primary/backup replication,
//! active-active replication, two-phase commit): their `ballot check` flags, checked and turned
//! into model configurations, and the one-line summaries of the check report.

use crate::{ModelArgs, Protocol, plural, unknown_bug};
use ballot_models::active_active::AaConfig;
use ballot_models::primary_backup::PbConfig;
use ballot_models::two_phase_commit::{TpcBug, TpcConfig};

/// The flags every model of this module takes besides the shared ones; any other model flag
/// given is refused, naming it.
fn refuse_others(m: &ModelArgs, protocol: Protocol, takes: &[&str]) -> Result<(), String> {
    let given = [
        ("--max-round", m.max_round.is_some()),
        ("--max-slots", m.max_slots.is_some()),
        ("--heartbeats", m.heartbeats.is_some()),
        ("--log-reads", m.log_reads.is_some()),
        ("--volatile-applied", m.volatile_applied.is_some()),
        ("--batch", m.batch.is_some()),
        ("--requests", m.requests.is_some()),
        ("--retries", m.retries.is_some()),
        ("--replication", m.replication.is_some()),
        ("--bug", m.bug.is_some()),
        ("--discard-obsolete", m.discard_obsolete.is_some()),
    ];
    for (flag, set) in given {
        if set && !takes.contains(&flag) {
            return Err(format!("{flag}: {} does not take it", protocol.name()));
        }
    }
    if let Some(flag) = m.raft.given() {
        return Err(format!(
            "{flag} is a raft flag; {} does not take it",
            protocol.name()
        ));
    }
    Ok(())
}

/// `--replication` is a primary-backup flag: the other protocols refuse it.
pub fn refuse_replication(m: &ModelArgs, protocol: Protocol) -> Result<(), String> {
    if m.replication.is_some() && protocol != Protocol::PrimaryBackup {
        return Err(format!(
            "--replication is a primary-backup flag; {} does not take it",
            protocol.name()
        ));
    }
    Ok(())
}

/// The primary/backup configuration.
pub fn primary_backup(m: &ModelArgs) -> Result<PbConfig, String> {
    let p = Protocol::PrimaryBackup;
    refuse_others(m, p, &["--requests", "--retries", "--replication", "--bug"])?;
    if let Some(name) = &m.bug {
        return Err(unknown_bug(p, name));
    }
    let d = PbConfig::default();
    let cfg = PbConfig {
        cluster: m.cluster(p),
        replication: m.replication.unwrap_or(d.replication),
        requests: m.requests.unwrap_or(d.requests),
        retries: m.retries.unwrap_or(d.retries),
        max_epoch: d.max_epoch,
    };
    cfg.validate()?;
    Ok(cfg)
}

/// Primary/backup's own flags, for the saved model flags.
pub fn primary_backup_flags(cfg: &PbConfig) -> Vec<(&'static str, String)> {
    vec![
        ("--replication", cfg.replication.to_string()),
        ("--requests", cfg.requests.to_string()),
        ("--retries", cfg.retries.to_string()),
    ]
}

/// Primary/backup's bounds, for the report's model line.
pub fn primary_backup_bounds(cfg: &PbConfig) -> String {
    format!(
        "{} replication, {} per client, {}, crash-stop, one failover",
        cfg.replication,
        plural(cfg.requests, "request"),
        plural(cfg.retries as usize, "retry"),
    )
}

/// The active-active configuration.
pub fn active_active(m: &ModelArgs) -> Result<AaConfig, String> {
    let p = Protocol::ActiveActive;
    refuse_others(m, p, &["--requests", "--bug"])?;
    if let Some(name) = &m.bug {
        return Err(unknown_bug(p, name));
    }
    let cfg = AaConfig {
        cluster: m.cluster(p),
        requests: m.requests.unwrap_or(AaConfig::default().requests),
    };
    cfg.validate()?;
    Ok(cfg)
}

/// Active-active's bounds, for the report's model line.
pub fn active_active_bounds(cfg: &AaConfig) -> String {
    format!(
        "last writer wins, {} per client",
        plural(cfg.requests, "request")
    )
}

/// The two-phase-commit configuration.
pub fn two_phase_commit(m: &ModelArgs) -> Result<TpcConfig, String> {
    let p = Protocol::TwoPhaseCommit;
    refuse_others(m, p, &["--bug"])?;
    let bug = match &m.bug {
        None => None,
        Some(name) => Some(TpcBug::from_name(name).ok_or_else(|| unknown_bug(p, name))?),
    };
    let cfg = TpcConfig {
        cluster: m.cluster(p),
        bug,
    };
    cfg.validate()?;
    Ok(cfg)
}

/// Two-phase commit's bounds, for the report's model line.
pub fn two_phase_commit_bounds(cfg: &TpcConfig) -> String {
    format!(
        "a coordinator and {}, crash-stop",
        plural(cfg.cluster.servers - 1, "participant")
    )
}
