//! Sequence diagrams of a saved [`Trace`]: one lane per actor, an arrow per delivered message,
//! lost messages, timers, crashes and messages discarded as obsolete marked, the last (violating
//! or witnessing) state highlighted, and the property and the command in the caption.
//!
//! Four formats: [`text`] (a terminal), [`mermaid`] (a Markdown block that GitHub renders as
//! is), [`svg`] and [`html`] (a self-contained page with the diagram and the steps; it loads
//! nothing from the network).

use crate::{Event, Kind, Trace};
use ::svg::Document;
use ::svg::node::element::{
    Definitions, Group, Line, Marker, Polygon, Rectangle, Style, Text as SvgText, Title,
};
use std::fmt::Write as _;

/// A diagram format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Plain text with lanes drawn in characters.
    Text,
    /// A Mermaid `sequenceDiagram` in a Markdown code block.
    Mermaid,
    /// A standalone SVG image.
    Svg,
    /// A self-contained HTML page: caption, SVG diagram and the steps with their changes.
    Html,
}

impl Format {
    /// Every format, in the order of `--format`'s help.
    pub const ALL: [Format; 4] = [Format::Text, Format::Mermaid, Format::Svg, Format::Html];

    /// The flag value and file extension: "text" → `.txt`, "mermaid" → `.md`, …
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Mermaid => "mermaid",
            Format::Svg => "svg",
            Format::Html => "html",
        }
    }

    /// The file extension used when the diagram is written next to the JSON.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Text => "txt",
            Format::Mermaid => "md",
            Format::Svg => "svg",
            Format::Html => "html",
        }
    }

    /// The format named `s`.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s)
    }
}

/// `trace` drawn in `format`.
pub fn render(trace: &Trace, format: Format) -> String {
    match format {
        Format::Text => text(trace),
        Format::Mermaid => mermaid(trace),
        Format::Svg => svg(trace),
        Format::Html => html(trace),
    }
}

/// The caption: what the trace shows, the configuration, and the command.
fn caption(t: &Trace) -> (String, String, String) {
    let title = format!(
        "{} — {} ({} steps)",
        t.title(),
        if t.protocol.is_empty() {
            "?"
        } else {
            &t.protocol
        },
        t.steps.len()
    );
    (title, t.model.clone(), t.command_line())
}

fn outcome_label(t: &Trace) -> &'static str {
    match t.kind {
        Kind::Counterexample => "Violation",
        Kind::Witness => "Witnessed",
    }
}

fn actor_names(t: &Trace) -> Vec<String> {
    if !t.actors.is_empty() {
        return t.actors.clone();
    }
    // A trace saved without its actor list: the names in its final states.
    t.final_states
        .iter()
        .map(|s| {
            s.split(':')
                .next()
                .unwrap_or("?")
                .trim_end_matches(" (down)")
                .to_string()
        })
        .collect()
}

/// The one-line label of a step for diagrams ("3. Promise { … }").
fn step_label(event: &Event, number: usize, saved: bool) -> String {
    let base = match event {
        Event::Deliver { msg, .. } => msg.clone(),
        Event::Lose { msg, .. } => format!("lost: {msg}"),
        Event::Timer { timer, .. } => format!("{timer} timer fires"),
        Event::Crash { restart: true, .. } => "crashes, restarts from its saved state".into(),
        Event::Crash { .. } => "crashes".into(),
        Event::Recover { .. } => "recovers from its saved state".into(),
        Event::Choose { what, .. } => format!("chooses {what}"),
        Event::Partition { sides } => {
            let side = |s: &Vec<usize>| {
                let names: Vec<String> = s.iter().map(|i| format!("server {i}")).collect();
                format!("{{{}}}", names.join(", "))
            };
            format!(
                "the network splits {} | {}",
                side(&sides[0]),
                side(&sides[1])
            )
        }
        Event::Heal => "the partition heals".into(),
        Event::Unknown => String::new(),
    };
    format!("{number}. {base}{}", if saved { " [saved]" } else { "" })
}

// ---------------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------------

/// Lanes drawn in characters, one row per step (and one per discarded message), the label to
/// the right of the lanes, the changes below it.
pub fn text(t: &Trace) -> String {
    let actors = actor_names(t);
    let col = actors.iter().map(|a| a.len()).max().unwrap_or(8).max(8) + 3;
    let pos = |i: usize| 6 + i * col + col / 2;
    let width = 6 + actors.len() * col;
    let blank = || {
        let mut row: Vec<char> = vec![' '; width];
        for i in 0..actors.len() {
            row[pos(i)] = '|';
        }
        row
    };
    let (title, model, command) = caption(t);
    let mut out = String::new();
    let _ = writeln!(out, "{title}");
    if !model.is_empty() {
        let _ = writeln!(out, "model: {model}");
    }
    let _ = writeln!(out, "run:   {command}");
    let _ = writeln!(out);
    let mut head = String::from("      ");
    for a in &actors {
        let _ = write!(head, "{a:^col$}");
    }
    let _ = writeln!(out, "{}", head.trim_end());
    let arrow = |row: &mut Vec<char>, from: usize, to: usize, body: char, tip: char| {
        let (a, b) = (pos(from), pos(to));
        if a == b {
            row[a] = tip;
            return;
        }
        let (lo, hi) = (a.min(b), a.max(b));
        for c in row.iter_mut().take(hi).skip(lo + 1) {
            *c = body;
        }
        if b > a {
            row[hi - 1] = tip;
        } else {
            row[lo + 1] = match tip {
                '>' => '<',
                other => other,
            };
        }
        row[a] = '+';
    };
    for s in &t.steps {
        let mut row = blank();
        match &s.event {
            Event::Deliver { from, to, .. } => arrow(&mut row, *from, *to, '-', '>'),
            Event::Lose { from, to, .. } => arrow(&mut row, *from, *to, '-', 'x'),
            Event::Timer { actor, .. } => row[pos(*actor)] = '*',
            Event::Crash { actor, .. } => row[pos(*actor)] = 'X',
            Event::Recover { actor } | Event::Choose { actor, .. } => row[pos(*actor)] = 'o',
            Event::Partition { sides } => {
                // A wall between the two sides' lanes.
                for i in 0..actors.len() {
                    if sides[1].contains(&i) {
                        row[pos(i)] = '#';
                    }
                }
            }
            Event::Heal | Event::Unknown => {}
        }
        let label = step_label(&s.event, s.number, s.saved);
        let label = if matches!(s.event, Event::Unknown) {
            format!("{}. {}", s.number, s.action)
        } else {
            label
        };
        let _ = writeln!(out, "{}  {label}", row.iter().collect::<String>());
        for c in &s.changes {
            let _ = writeln!(out, "{}      {c}", blank().iter().collect::<String>());
        }
        if let Some(actor) = acting(&s.event) {
            for m in s.sends.iter().filter(|m| m.discarded) {
                let mut row = blank();
                arrow(&mut row, actor, m.to, '.', 'o');
                let _ = writeln!(
                    out,
                    "{}  reply discarded: obsolete ({})",
                    row.iter().collect::<String>(),
                    m.msg
                );
            }
        }
    }
    let _ = writeln!(out);
    if let Some(e) = &t.explanation {
        let _ = writeln!(out, "{}: {e}", outcome_label(t));
    }
    let _ = writeln!(
        out,
        "(+--> a delivered message, +--x a lost one, +..o a message discarded as obsolete, \
         * a timer, X a crash, # the far side of a partition, [saved] the actor saved its \
         durable state)"
    );
    out
}

fn acting(e: &Event) -> Option<usize> {
    match e {
        Event::Deliver { to, .. } => Some(*to),
        Event::Lose { .. } | Event::Partition { .. } | Event::Heal | Event::Unknown => None,
        Event::Timer { actor, .. }
        | Event::Crash { actor, .. }
        | Event::Recover { actor }
        | Event::Choose { actor, .. } => Some(*actor),
    }
}

// ---------------------------------------------------------------------------------------------
// Mermaid
// ---------------------------------------------------------------------------------------------

/// Text safe in a Mermaid sequence-diagram message or note: `;` ends a statement and `#` starts
/// an entity, so both are written as entities; so are `<`, `>`, and `{`/`}` (which some
/// Mermaid versions take for markup).
fn mermaid_text(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '{' => out.push_str("#123;"),
            '}' => out.push_str("#125;"),
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A Mermaid sequence diagram inside a Markdown ```` ```mermaid ```` block, with the caption
/// as a paragraph above it: paste it into a Markdown file and GitHub draws it.
pub fn mermaid(t: &Trace) -> String {
    let actors = actor_names(t);
    let alias = |i: usize| format!("A{i}");
    let (title, model, command) = caption(t);
    let mut out = String::new();
    let _ = writeln!(out, "**{title}**  ");
    if !model.is_empty() {
        let _ = writeln!(out, "model: {model}  ");
    }
    let _ = writeln!(out, "run: `{command}`");
    let _ = writeln!(out);
    let _ = writeln!(out, "```mermaid");
    let _ = writeln!(out, "sequenceDiagram");
    for (i, a) in actors.iter().enumerate() {
        let _ = writeln!(out, "    participant {} as {}", alias(i), mermaid_text(a));
    }
    let last = t.steps.len();
    for s in &t.steps {
        let label = mermaid_text(&step_label(&s.event, s.number, s.saved));
        let highlight = s.number == last;
        if highlight {
            let _ = writeln!(
                out,
                "    rect rgb({})",
                match t.kind {
                    Kind::Counterexample => "255, 225, 225",
                    Kind::Witness => "225, 245, 225",
                }
            );
        }
        match &s.event {
            Event::Deliver { from, to, .. } => {
                let _ = writeln!(out, "    {}->>{}: {label}", alias(*from), alias(*to));
            }
            Event::Lose { from, to, .. } => {
                let _ = writeln!(out, "    {}-x{}: {label}", alias(*from), alias(*to));
            }
            Event::Timer { actor, .. }
            | Event::Crash { actor, .. }
            | Event::Recover { actor }
            | Event::Choose { actor, .. } => {
                let _ = writeln!(out, "    Note over {}: {label}", alias(*actor));
            }
            Event::Partition { .. } | Event::Heal => {
                let span = if actors.len() > 1 {
                    format!("{},{}", alias(0), alias(actors.len() - 1))
                } else {
                    alias(0)
                };
                let _ = writeln!(out, "    Note over {span}: {label}");
            }
            Event::Unknown => {
                let _ = writeln!(
                    out,
                    "    Note over {}: {}",
                    alias(0),
                    mermaid_text(&format!("{}. {}", s.number, s.action))
                );
            }
        }
        if let Some(actor) = acting(&s.event) {
            for m in s.sends.iter().filter(|m| m.discarded) {
                let _ = writeln!(
                    out,
                    "    {}--x{}: {}",
                    alias(actor),
                    alias(m.to),
                    mermaid_text(&format!("discarded (obsolete): {}", m.msg))
                );
            }
        }
        if highlight {
            if let Some(e) = &t.explanation {
                let span = if actors.len() > 1 {
                    format!("{},{}", alias(0), alias(actors.len() - 1))
                } else {
                    alias(0)
                };
                let _ = writeln!(
                    out,
                    "    Note over {span}: {}",
                    mermaid_text(&format!("{}: {e}", outcome_label(t)))
                );
            }
            let _ = writeln!(out, "    end");
        }
    }
    let _ = writeln!(out, "```");
    out
}

// ---------------------------------------------------------------------------------------------
// SVG
// ---------------------------------------------------------------------------------------------

const LANE: f64 = 200.0;
const LEFT: f64 = 46.0;
const LINE: f64 = 15.0;
const CHAR: f64 = 6.6;

/// Splits `s` into lines of at most `width` characters, at spaces where it can.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let width = width.max(12);
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in s.split(' ') {
        let mut word = word.to_string();
        while word.chars().count() > width {
            if !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
        }
        if cur.is_empty() {
            cur = word;
        } else if cur.chars().count() + 1 + word.chars().count() <= width {
            cur.push(' ');
            cur.push_str(&word);
        } else {
            lines.push(std::mem::replace(&mut cur, word));
        }
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

fn text_lines(x: f64, y: f64, lines: &[String], class: &str, anchor: &str) -> Group {
    let mut g = Group::new();
    for (k, l) in lines.iter().enumerate() {
        g = g.add(
            SvgText::new(l.clone())
                .set("x", x)
                .set("y", y + k as f64 * LINE)
                .set("class", class)
                .set("text-anchor", anchor),
        );
    }
    g
}

/// A standalone SVG sequence diagram.
pub fn svg(t: &Trace) -> String {
    svg_document(t).to_string()
}

fn svg_document(t: &Trace) -> Document {
    let actors = actor_names(t);
    let n = actors.len().max(1);
    let x = |i: usize| LEFT + LANE / 2.0 + i as f64 * LANE;
    let width = LEFT + n as f64 * LANE + 20.0;
    let (title, model, command) = caption(t);
    let cap_width = ((width - 20.0) / CHAR) as usize;
    let mut caption_lines = vec![title.clone()];
    if !model.is_empty() {
        caption_lines.extend(wrap(&format!("model: {model}"), cap_width));
    }
    caption_lines.extend(wrap(&format!("run: {command}"), cap_width));
    let mut body = Group::new();
    let mut y = 16.0;
    body = body.add(
        SvgText::new(caption_lines[0].clone())
            .set("x", 10)
            .set("y", y)
            .set("class", "title"),
    );
    y += LINE + 3.0;
    body = body.add(text_lines(10.0, y, &caption_lines[1..], "caption", "start"));
    y += (caption_lines.len() - 1) as f64 * LINE + 10.0;
    let head_top = y;
    for (i, a) in actors.iter().enumerate() {
        body = body
            .add(
                Rectangle::new()
                    .set("x", x(i) - LANE / 2.0 + 15.0)
                    .set("y", y)
                    .set("width", LANE - 30.0)
                    .set("height", 24)
                    .set("rx", 4)
                    .set(
                        "class",
                        if a.starts_with("client") {
                            "actor client"
                        } else {
                            "actor"
                        },
                    ),
            )
            .add(
                SvgText::new(a.clone())
                    .set("x", x(i))
                    .set("y", y + 16.0)
                    .set("class", "actor-name")
                    .set("text-anchor", "middle"),
            );
    }
    y += 24.0;
    let lanes_top = y;
    y += 14.0;
    let mut rows = Group::new();
    let last = t.steps.len();
    for s in &t.steps {
        let row_top = y;
        let mut row = Group::new().set("class", "step");
        let mut tip = format!("{}. {}", s.number, s.action);
        for c in &s.changes {
            tip.push_str("\n  ");
            tip.push_str(c);
        }
        for m in &s.sent {
            tip.push_str("\n  sends ");
            tip.push_str(m);
        }
        row = row.add(Title::new(tip));
        let label = step_label(&s.event, s.number, s.saved);
        match &s.event {
            Event::Deliver { from, to, .. } | Event::Lose { from, to, .. } => {
                let lost = matches!(s.event, Event::Lose { .. });
                let (a, b) = (x(*from), x(*to));
                let span = ((a - b).abs()).max(LANE) - 20.0;
                let lines = wrap(&label, (span / CHAR) as usize);
                let mid = (a + b) / 2.0;
                row = row.add(text_lines(mid, y + 10.0, &lines, "label", "middle"));
                y += 10.0 + lines.len() as f64 * LINE - 4.0;
                if a == b {
                    row = row.add(
                        ::svg::node::element::Path::new()
                            .set("d", format!("M {a} {y} h 30 v 12 h -28", a = a, y = y))
                            .set("class", "arrow")
                            .set("marker-end", "url(#head)"),
                    );
                    y += 12.0;
                } else {
                    let end = if lost { a + (b - a) * 0.6 } else { b };
                    let dir = if b > a { -1.0 } else { 1.0 };
                    row = row.add(
                        Line::new()
                            .set("x1", a)
                            .set("y1", y)
                            .set("x2", end + if lost { 0.0 } else { dir * 2.0 })
                            .set("y2", y)
                            .set("class", if lost { "arrow lost" } else { "arrow" })
                            .set(
                                "marker-end",
                                if lost { "url(#cross)" } else { "url(#head)" },
                            ),
                    );
                }
                y += 12.0;
            }
            Event::Timer { actor, .. }
            | Event::Crash { actor, .. }
            | Event::Recover { actor }
            | Event::Choose { actor, .. } => {
                let class = match s.event {
                    Event::Crash { .. } => "note crash",
                    Event::Recover { .. } => "note recover",
                    _ => "note timer",
                };
                let lines = wrap(&label, ((LANE - 24.0) / CHAR) as usize);
                let h = lines.len() as f64 * LINE + 8.0;
                row = row
                    .add(
                        Rectangle::new()
                            .set("x", x(*actor) - LANE / 2.0 + 10.0)
                            .set("y", y)
                            .set("width", LANE - 20.0)
                            .set("height", h)
                            .set("rx", 6)
                            .set("class", class),
                    )
                    .add(text_lines(x(*actor), y + 15.0, &lines, "label", "middle"));
                y += h + 8.0;
            }
            Event::Partition { .. } | Event::Heal => {
                let lines = wrap(&label, ((width - LEFT - 20.0) / CHAR) as usize);
                let h = lines.len() as f64 * LINE + 8.0;
                row = row
                    .add(
                        Rectangle::new()
                            .set("x", LEFT)
                            .set("y", y)
                            .set("width", width - LEFT - 10.0)
                            .set("height", h)
                            .set("rx", 6)
                            .set("class", "note partition"),
                    )
                    .add(text_lines(LEFT + 10.0, y + 15.0, &lines, "label", "start"));
                y += h + 8.0;
            }
            Event::Unknown => {
                let lines = wrap(&format!("{}. {}", s.number, s.action), 100);
                row = row.add(text_lines(x(0), y + 10.0, &lines, "label", "start"));
                y += lines.len() as f64 * LINE + 8.0;
            }
        }
        if let Some(actor) = acting(&s.event) {
            for m in s.sends.iter().filter(|m| m.discarded) {
                let (a, b) = (x(actor), x(m.to));
                let text = format!("discarded (obsolete): {}", m.msg);
                let span = ((a - b).abs()).max(LANE) - 20.0;
                let lines = wrap(&text, (span / CHAR) as usize);
                row = row.add(text_lines(
                    (a + b) / 2.0,
                    y + 8.0,
                    &lines,
                    "label discarded",
                    "middle",
                ));
                y += 8.0 + lines.len() as f64 * LINE - 4.0;
                let end = a + (b - a) * 0.5;
                row = row.add(
                    Line::new()
                        .set("x1", a)
                        .set("y1", y)
                        .set("x2", end)
                        .set("y2", y)
                        .set("class", "arrow discarded")
                        .set("marker-end", "url(#stop)"),
                );
                y += 12.0;
            }
        }
        if s.number == last {
            let class = match t.kind {
                Kind::Counterexample => "final violation",
                Kind::Witness => "final witness",
            };
            rows = rows.add(
                Rectangle::new()
                    .set("x", 4)
                    .set("y", row_top - 4.0)
                    .set("width", width - 8.0)
                    .set("height", y - row_top + 4.0)
                    .set("class", class),
            );
        }
        rows = rows.add(
            SvgText::new(format!("{}", s.number))
                .set("x", 8)
                .set("y", row_top + 12.0)
                .set("class", "number"),
        );
        rows = rows.add(row);
        y += 4.0;
    }
    let lanes_bottom = y;
    let mut lanes = Group::new();
    for i in 0..n {
        lanes = lanes.add(
            Line::new()
                .set("x1", x(i))
                .set("y1", lanes_top)
                .set("x2", x(i))
                .set("y2", lanes_bottom)
                .set("class", "lane"),
        );
    }
    y += 6.0;
    if let Some(e) = &t.explanation {
        let lines = wrap(
            &format!("{}: {e}", outcome_label(t)),
            ((width - 30.0) / CHAR) as usize,
        );
        let h = lines.len() as f64 * LINE + 10.0;
        body = body
            .add(
                Rectangle::new()
                    .set("x", 4)
                    .set("y", y)
                    .set("width", width - 8.0)
                    .set("height", h)
                    .set("rx", 4)
                    .set(
                        "class",
                        match t.kind {
                            Kind::Counterexample => "outcome violation",
                            Kind::Witness => "outcome witness",
                        },
                    ),
            )
            .add(text_lines(12.0, y + 16.0, &lines, "outcome-text", "start"));
        y += h + 6.0;
    }
    let legend = "arrow: a message delivered · ✕: lost · dashed ⊘: sent and discarded at once \
                  as obsolete · box: a timer, crash or recovery · [saved]: the actor saved its \
                  durable state · hover a step for its changes";
    let legend_lines = wrap(legend, ((width - 20.0) / CHAR) as usize);
    body = body.add(text_lines(10.0, y + 12.0, &legend_lines, "legend", "start"));
    y += legend_lines.len() as f64 * LINE + 10.0;
    let _ = head_top;
    let style = Style::new(
        "svg { background: #ffffff; }\n\
         text { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 11px; fill: #1a1a1a; }\n\
         .title { font-size: 14px; font-weight: bold; }\n\
         .caption { fill: #444; }\n\
         .actor { fill: #e8eef8; stroke: #4a6fa5; }\n\
         .actor.client { fill: #f3efe2; stroke: #9a7b2f; }\n\
         .actor-name { font-weight: bold; }\n\
         .lane { stroke: #b8c2d0; stroke-dasharray: 4 3; }\n\
         .arrow { stroke: #1f3b63; stroke-width: 1.4; fill: none; }\n\
         .arrow.lost { stroke: #b02a2a; stroke-dasharray: 5 3; }\n\
         .arrow.discarded { stroke: #888; stroke-dasharray: 2 3; }\n\
         .label.discarded { fill: #777; font-style: italic; }\n\
         .note { stroke-width: 1; }\n\
         .note.timer { fill: #fff7d6; stroke: #c9a227; }\n\
         .note.crash { fill: #fde2e2; stroke: #b02a2a; }\n\
         .note.recover { fill: #e2f5e2; stroke: #2f8a2f; }\n\
         .note.partition { fill: #e8e4f8; stroke: #5a4aa8; stroke-dasharray: 4 3; }\n\
         .number { fill: #888; }\n\
         .final.violation { fill: #fde8e8; stroke: #d04545; }\n\
         .final.witness { fill: #e6f6e6; stroke: #3a9a3a; }\n\
         .outcome.violation { fill: #fbd5d5; stroke: #b02a2a; }\n\
         .outcome.witness { fill: #d5f2d5; stroke: #2f8a2f; }\n\
         .outcome-text { font-weight: bold; }\n\
         .legend { fill: #666; font-size: 10px; }\n\
         .step:hover text.label { fill: #0b57d0; }",
    );
    let defs = Definitions::new()
        .add(
            Marker::new()
                .set("id", "head")
                .set("viewBox", "0 0 10 10")
                .set("refX", 9)
                .set("refY", 5)
                .set("markerWidth", 8)
                .set("markerHeight", 8)
                .set("orient", "auto-start-reverse")
                .add(
                    Polygon::new()
                        .set("points", "0,0 10,5 0,10")
                        .set("fill", "#1f3b63"),
                ),
        )
        .add(
            Marker::new()
                .set("id", "cross")
                .set("viewBox", "0 0 10 10")
                .set("refX", 5)
                .set("refY", 5)
                .set("markerWidth", 10)
                .set("markerHeight", 10)
                .add(
                    ::svg::node::element::Path::new()
                        .set("d", "M 1 1 L 9 9 M 9 1 L 1 9")
                        .set("stroke", "#b02a2a")
                        .set("stroke-width", 2),
                ),
        )
        .add(
            Marker::new()
                .set("id", "stop")
                .set("viewBox", "0 0 10 10")
                .set("refX", 5)
                .set("refY", 5)
                .set("markerWidth", 9)
                .set("markerHeight", 9)
                .add(
                    ::svg::node::element::Circle::new()
                        .set("cx", 5)
                        .set("cy", 5)
                        .set("r", 4)
                        .set("fill", "#ffffff")
                        .set("stroke", "#888"),
                ),
        );
    Document::new()
        .set("width", width)
        .set("height", y)
        .set("viewBox", (0, 0, width, y))
        .set("role", "img")
        .add(Title::new(format!("{title}. {command}")))
        .add(style)
        .add(defs)
        .add(rows)
        .add(lanes)
        .add(body)
}

// ---------------------------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------------------------

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A self-contained HTML page: the caption, the SVG diagram inline, then every step with its
/// changes and messages, the final states and the outcome. It loads nothing from the network.
pub fn html(t: &Trace) -> String {
    let (title, model, command) = caption(t);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n\
         <title>{}</title>\n<style>\n\
         body {{ font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; margin: 1.5em; color: #1a1a1a; }}\n\
         code, pre, .steps {{ font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 13px; }}\n\
         .diagram {{ overflow-x: auto; border: 1px solid #ccd; padding: 6px; margin: 1em 0; }}\n\
         .steps li {{ margin: 0.4em 0; }}\n\
         .changes {{ color: #444; margin: 0.1em 0 0 1em; white-space: pre-wrap; }}\n\
         .discarded {{ color: #777; font-style: italic; }}\n\
         .outcome {{ padding: 0.6em; border-radius: 4px; font-weight: bold; }}\n\
         .counterexample {{ background: #fbd5d5; }}\n\
         .witness {{ background: #d5f2d5; }}\n\
         .last {{ background: #fff3f3; }}\n\
         </style>\n</head>\n<body>\n",
        html_escape(&title)
    );
    let _ = writeln!(out, "<h1>{}</h1>", html_escape(&title));
    if !model.is_empty() {
        let _ = writeln!(out, "<p>Model: {}</p>", html_escape(&model));
    }
    let _ = writeln!(out, "<p>Run: <code>{}</code></p>", html_escape(&command));
    if !t.model_flags.is_empty() {
        let _ = writeln!(
            out,
            "<p>Reopen: <code>ballot explore --trace FILE.json</code> (or <code>{}</code> and the \
             path <code>#/steps/{}</code>)</p>",
            html_escape(&t.explore_command()),
            html_escape(&t.action_path)
        );
    }
    let _ = writeln!(out, "<div class=\"diagram\">{}</div>", svg(t));
    let kind = match t.kind {
        Kind::Counterexample => "counterexample",
        Kind::Witness => "witness",
    };
    if let Some(e) = &t.explanation {
        let _ = writeln!(
            out,
            "<p class=\"outcome {kind}\">{}: {}</p>",
            outcome_label(t),
            html_escape(e)
        );
    }
    let _ = writeln!(out, "<h2>Steps</h2>\n<ol class=\"steps\">");
    let last = t.steps.len();
    for s in &t.steps {
        let class = if s.number == last {
            " class=\"last\""
        } else {
            ""
        };
        let _ = write!(out, "<li{class}>{}", html_escape(&s.action));
        let mut detail = Vec::new();
        detail.extend(s.changes.iter().map(|c| html_escape(c)));
        if s.saved {
            detail.push(format!("{} saves its durable state", html_escape(&s.actor)));
        }
        for m in &s.sent {
            let line = format!("sends {}", html_escape(m));
            if m.ends_with("(discarded: obsolete)") {
                detail.push(format!("<span class=\"discarded\">{line}</span>"));
            } else {
                detail.push(line);
            }
        }
        if !detail.is_empty() {
            let _ = write!(out, "<div class=\"changes\">{}</div>", detail.join("\n"));
        }
        let _ = writeln!(out, "</li>");
    }
    let _ = writeln!(out, "</ol>\n<h2>Final state</h2>\n<pre>");
    for s in &t.final_states {
        let _ = writeln!(out, "{}", html_escape(s));
    }
    let _ = writeln!(out, "</pre>\n</body>\n</html>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces_and_splits_long_words() {
        assert_eq!(wrap("a b c", 20), vec!["a b c"]);
        assert_eq!(wrap("aaaa bbbb cccc", 12), vec!["aaaa bbbb", "cccc"]);
        assert_eq!(wrap(&"x".repeat(30), 12).len(), 3);
    }

    #[test]
    fn mermaid_text_escapes_statement_ends() {
        assert_eq!(mermaid_text("a; b #1 {x}"), "a#59; b #35;1 #123;x#125;");
    }
}
