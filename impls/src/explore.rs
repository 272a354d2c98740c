//! `ballot explore`: Stateright's web Explorer, behind a small front that names the model.
//!
//! Stateright 0.31 titles the page with the model's Rust type
//! (`ClusterModel<RaftActor<char, char>, RaftConfig, RaftHistory>`), calls an initial state
//! "Init 0", and shows every property as "Searching" until "Run to completion" is pressed, even
//! when a counterexample was opened by its URL; none of this can be set through its API. So the
//! Explorer runs on an internal loopback port and `ballot explore` serves the address given
//! with `--addr`, passing every request through and changing four answers on the way:
//! - `/` (the page): the title and heading name the protocol and its configuration in words;
//!   with `--trace`, a line under the heading says what the trace shows and links to its path;
//! - `/.status`: `model` is that same description, and with `--trace` the trace's property
//!   carries the trace's path as its discovery (the page then links it as "Counterexample found"
//!   or "Example found");
//! - `/.states` (the initial states): each is called "initial state" instead of "Init 0";
//! - `/app.js`: a property not checked yet reads "not checked yet (Run to completion checks
//!   it)" instead of "Searching".

use anyhow::{Context, Result};
use ballot_traces::{Kind, Trace};
use stateright::Model;
use std::fmt::Debug;
use std::hash::Hash;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the front says about the model.
#[derive(Clone, Debug)]
pub struct Front {
    /// The protocol and configuration in words.
    pub title: String,
    /// With `--trace`: the trace's property, kind and action path.
    pub trace: Option<(String, Kind, String)>,
}

/// Serves the Explorer for `model` on `listener` (already bound, so that a taken address was
/// reported before) until the process is stopped.
pub fn serve<M>(model: M, listener: TcpListener, front: Front) -> Result<()>
where
    M: Model + Send + Sync + 'static,
    M::State: Debug + Hash + Send + Sync + Clone + PartialEq,
    M::Action: Debug + Send + Sync + Clone + PartialEq,
{
    let inner = TcpListener::bind("127.0.0.1:0").context("binding the Explorer's own port")?;
    let inner_addr = inner.local_addr()?;
    drop(inner);
    std::thread::spawn(move || {
        model.checker().serve(inner_addr);
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while fetch(inner_addr, "GET", "/.status").is_none() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "Stateright's Explorer did not start on {inner_addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let server = tiny_http::Server::from_listener(listener, None)
        .map_err(|e| anyhow::anyhow!("serving the Explorer: {e}"))?;
    let front = Arc::new(front);
    for request in server.incoming_requests() {
        let front = Arc::clone(&front);
        std::thread::spawn(move || answer(request, inner_addr, &front));
    }
    Ok(())
}

/// Passes one request to the Explorer and its answer back, changed as the module says.
fn answer(request: tiny_http::Request, inner: SocketAddr, front: &Front) {
    let method = request.method().as_str().to_string();
    let url = request.url().to_string();
    let Some((status, content_type, body)) = fetch(inner, &method, &url) else {
        let _ = request.respond(
            tiny_http::Response::from_string("the Explorer did not answer").with_status_code(502),
        );
        return;
    };
    let body = if status == 200 {
        rewrite(&url, body, front)
    } else {
        body
    };
    let mut response = tiny_http::Response::from_data(body).with_status_code(status);
    if let Some(ct) = content_type
        .and_then(|ct| tiny_http::Header::from_bytes(&b"Content-Type"[..], ct.as_bytes()).ok())
    {
        response = response.with_header(ct);
    }
    let _ = request.respond(response);
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The answer to `url`, changed where the module says.
fn rewrite(url: &str, body: Vec<u8>, front: &Front) -> Vec<u8> {
    match url {
        "/" => {
            let page = String::from_utf8_lossy(&body);
            let title = html_escape(&front.title);
            let mut banner = String::new();
            if let Some((property, kind, path)) = &front.trace {
                banner = format!(
                    "<p class=\"ballot-trace\" style=\"margin:0;padding:6px 12px;background:{};\">\
                     Opened: <a href=\"#/steps/{path}\">{} {}</a> (its last step is the state \
                     shown; the path is listed on the left)</p>",
                    match kind {
                        Kind::Counterexample => "#fbd5d5",
                        Kind::Witness => "#d5f2d5",
                    },
                    kind.heading(),
                    html_escape(property),
                    path = html_escape(path),
                );
            }
            page.replace(
                "<title>Stateright Explorer</title>",
                &format!("<title>{title} — Stateright Explorer</title>"),
            )
            .replace(
                "<h1><a href=\"/\">Stateright Explorer</a></h1>",
                &format!("<h1><a href=\"/\">{title}</a></h1>"),
            )
            .replace("</header>", &format!("</header>{banner}"))
            .into_bytes()
        }
        "/app.js" => String::from_utf8_lossy(&body)
            .replace(
                "return '🔎 Searching: '",
                "return '⏸ Not checked yet (Run to completion checks it): '",
            )
            .into_bytes(),
        "/.status" => {
            let Ok(mut status) = serde_json::from_slice::<serde_json::Value>(&body) else {
                return body;
            };
            status["model"] = serde_json::Value::String(front.title.clone());
            if let Some((property, _, path)) = &front.trace
                && let Some(props) = status["properties"].as_array_mut()
            {
                for p in props {
                    if p[1] == property.as_str() && p[2].is_null() {
                        p[2] = serde_json::Value::String(path.clone());
                    }
                }
            }
            serde_json::to_vec(&status).unwrap_or(body)
        }
        "/.states" | "/.states/" => {
            let Ok(mut states) = serde_json::from_slice::<serde_json::Value>(&body) else {
                return body;
            };
            if let Some(list) = states.as_array_mut() {
                let many = list.len() > 1;
                for (i, s) in list.iter_mut().enumerate() {
                    if s.get("action").is_none() {
                        s["action"] = serde_json::Value::String(if many {
                            format!("initial state {i}")
                        } else {
                            "initial state".into()
                        });
                    }
                }
            }
            serde_json::to_vec(&states).unwrap_or(body)
        }
        _ => body,
    }
}

/// One HTTP/1.0 request to the Explorer: status, content type and body.
fn fetch(addr: SocketAddr, method: &str, url: &str) -> Option<(u16, Option<String>, Vec<u8>)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(600))).ok()?;
    write!(
        s,
        "{method} {url} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n"
    )
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let body = raw[split + 4..].to_vec();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let content_type = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-type")
            .then(|| v.trim().to_string())
    });
    Some((status, content_type, body))
}

/// Checks that `trace`'s path replays on `model` and ends in a state where its property is
/// still violated (a counterexample) or satisfied (a witness). The error says which step fails.
pub fn check_replay<M>(model: &M, trace: &Trace) -> Result<(), String>
where
    M: Model,
    M::State: Clone + PartialEq,
    M::Action: Clone + PartialEq,
{
    let indices = trace.action_indices()?;
    let Some((first, rest)) = indices.split_first() else {
        return Err("its action path is empty".into());
    };
    let Some(mut state) = model.init_states().into_iter().nth(*first) else {
        return Err(format!("the model has no initial state number {first}"));
    };
    for (k, &i) in rest.iter().enumerate() {
        let mut enabled = Vec::new();
        model.actions(&state, &mut enabled);
        let Some(action) = enabled.into_iter().nth(i) else {
            return Err(format!(
                "step {} names action {i}, but the model offers fewer actions there",
                k + 1
            ));
        };
        let Some(next) = model.next_state(&state, action) else {
            return Err(format!(
                "step {} is an action the model ignores there",
                k + 1
            ));
        };
        state = next;
    }
    let Some(p) = model
        .properties()
        .into_iter()
        .find(|p| p.name == trace.property)
    else {
        return Err(format!("the model has no property '{}'", trace.property));
    };
    let holds = (p.condition)(model, &state);
    match (trace.kind, holds) {
        (Kind::Counterexample, true) => Err(format!(
            "it replays, but its last state does not violate {}",
            trace.property
        )),
        (Kind::Witness, false) => Err(format!(
            "it replays, but its last state does not satisfy {}",
            trace.property
        )),
        _ => Ok(()),
    }
}
