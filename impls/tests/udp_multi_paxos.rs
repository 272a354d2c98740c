//! Multi-Paxos over UDP: a 3-node loopback cluster with loss, duplication and delay, three
//! concurrent key-value clients, the leader SIGKILLed and restarted from its data directory
//! twice; the history (final reads included) must be linearizable.

mod udp_common;

#[test]
fn multi_paxos_survives_leader_kills_with_loss_and_duplication() {
    udp_common::kv_fault_test("multi-paxos", "multi-paxos-kill-restart");
}
