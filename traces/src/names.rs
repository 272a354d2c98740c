//! Actor names in printed states and messages: Stateright prints an actor as `Id(3)`, and Raft's
//! log entries name a request `@c3r1` (actor 3, request 1). With `servers` servers, actor `i`
//! below `servers` is "server i" and the others are clients numbered from 0, so `Id(3)` reads
//! `client 0` and `@c3r1` reads `@c0#1` (client 0's request 1) with three servers.

/// Rewrites actor ids in `text` into role names (see the module documentation).
pub fn humanize(text: &str, servers: usize) -> String {
    let name = |i: usize| {
        if i < servers {
            format!("server {i}")
        } else {
            format!("client {}", i - servers)
        }
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("Id(")
            && let Some((digits, tail)) = after.split_once(')')
            && !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && let Ok(i) = digits.parse::<usize>()
        {
            out.push_str(&name(i));
            rest = tail;
            continue;
        }
        if let Some(after) = rest.strip_prefix("@c")
            && let Some((client, req, tail)) = request_id(after)
            && client >= servers
        {
            out.push_str(&format!("@c{}#{req}", client - servers));
            rest = tail;
            continue;
        }
        let c = rest.chars().next().expect("not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// `3r1…` → (3, 1, "…").
fn request_id(s: &str) -> Option<(usize, u64, &str)> {
    let d1 = s.bytes().take_while(u8::is_ascii_digit).count();
    let rest = s[d1..].strip_prefix('r')?;
    let d2 = rest.bytes().take_while(u8::is_ascii_digit).count();
    if d1 == 0 || d2 == 0 {
        return None;
    }
    Some((s[..d1].parse().ok()?, rest[..d2].parse().ok()?, &rest[d2..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_role_names() {
        assert_eq!(
            humanize("waiting: [(Id(3), 1, Put)], leader: Some(Id(1))", 3),
            "waiting: [(client 0, 1, Put)], leader: Some(server 1)"
        );
        assert_eq!(
            humanize("[t1:Put('x', 'A')@c3r1, t2:noop, t2:Get('x')@c4r12]", 3),
            "[t1:Put('x', 'A')@c0#1, t2:noop, t2:Get('x')@c1#12]"
        );
        assert_eq!(humanize("Id(x) Id() @cat", 3), "Id(x) Id() @cat");
    }
}
