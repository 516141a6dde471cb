//! The HTML layer of the pages: the page frame, the parts the decision forms share,
//! and ages in words. Pages are readable on a phone, need no JavaScript and load
//! nothing from elsewhere. They are written with `maud::html!`, which escapes every
//! value spliced into them; only fixed markup written in the code (here the doctype
//! and the style sheet) goes out as it is, through `PreEscaped`, never data.

use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped};

const STYLE: &str = "
:root{color-scheme:light dark;--bg:#fff;--fg:#111;--muted:#555;--line:#ccc;--crit:#b00020;--ok:#0b6b2b;--warn:#8a5a00;--box:#f4f4f4}
@media (prefers-color-scheme:dark){:root{--bg:#121212;--fg:#eee;--muted:#aaa;--line:#444;--crit:#ff6b81;--ok:#5fd38a;--warn:#e0b050;--box:#1e1e1e}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:17px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}
main{max-width:42rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.3rem 0 1rem}
h2{font-size:1.1rem;margin:1.4rem 0 .4rem}
.box h2{margin-top:0}
.banner{padding:.8rem 1rem;border-radius:.4rem;margin:0 0 1rem;font-weight:600}
.crit{background:var(--crit);color:#fff}.ok{background:var(--ok);color:#fff}.warn{background:var(--warn);color:#fff}.info{background:var(--box)}
dl{display:grid;grid-template-columns:minmax(8rem,auto) 1fr;gap:.3rem .8rem;margin:0}
@media (max-width:32rem){dl{grid-template-columns:1fr;gap:0}dd{margin:0 0 .5rem}}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
.loss{font-size:1.25rem;font-weight:700}
.box{background:var(--box);border:1px solid var(--line);border-radius:.4rem;padding:.8rem 1rem;margin:1rem 0}
label{display:block;margin:.8rem 0 .2rem;font-weight:600}
input[type=text]{width:100%;font-size:1.1rem;padding:.6rem;border:1px solid var(--line);border-radius:.3rem;background:var(--bg);color:var(--fg)}
.check{display:flex;gap:.6rem;align-items:flex-start;font-weight:600;margin:1rem 0}
.check input{width:1.4rem;height:1.4rem;flex:none}
.buttons{display:flex;gap:.8rem;flex-wrap:wrap;margin-top:1.2rem}
button{font-size:1.1rem;padding:.8rem 1.2rem;border-radius:.4rem;border:2px solid var(--fg);background:var(--bg);color:var(--fg);flex:1 1 10rem;min-height:3rem}
button.approve{background:var(--crit);border-color:var(--crit);color:#fff;font-weight:700}
.error{color:var(--crit);font-weight:600}
.muted{color:var(--muted);font-size:.9rem}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;padding:.3rem .4rem;border-bottom:1px solid var(--line);vertical-align:top}
.scroll{overflow-x:auto}
main.wide{max-width:90rem;overflow-wrap:anywhere}
.wide table{font-size:.9rem}
.wide th{overflow-wrap:normal}
.wide td small{display:block;color:var(--muted)}
.stale{color:var(--crit);font-weight:700}
.wide td.stale small{color:var(--crit)}
@media (max-width:48rem){table.stack tr{display:block;border-bottom:2px solid var(--line);padding:.3rem 0}
table.stack tr:first-child{display:none}
table.stack td{display:block;position:relative;border:0;padding:.15rem .4rem .15rem 8.4rem;min-height:1.6rem}
table.stack td::before{content:attr(data-label);position:absolute;left:.4rem;width:7.6rem;color:var(--muted);font-weight:400}}
@media (prefers-color-scheme:dark){.crit,.ok,.warn,button.approve{color:#121212}}
";

/// A whole page around `body`.
pub fn page(title: &str, body: Markup) -> String {
    frame(title, None, body)
}

/// A page as wide as a desktop's screen that reloads itself every `refresh_secs`
/// seconds, without JavaScript: the status page, left open on a screen.
pub fn wide_refreshing_page(title: &str, refresh_secs: u32, body: Markup) -> String {
    frame(title, Some(refresh_secs), body)
}

fn frame(title: &str, refresh_secs: Option<u32>, body: Markup) -> String {
    let wide = refresh_secs.is_some().then_some("wide");
    html! {
        (PreEscaped("<!doctype html>\n"))
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                meta name="robots" content="noindex,nofollow";
                @if let Some(secs) = refresh_secs {
                    meta http-equiv="refresh" content=(secs);
                }
                title { (title) " - mirrorgate" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main class=[wide] {
                    (body)
                    p class="muted" { "mirrorgate" }
                }
            }
        }
        "\n"
    }
    .into_string()
}

/// How long ago `at` was, seen at `now`, in the words a person reads at a glance:
/// "just now" (under 10 s), "45 s ago", "3 min ago", "2 h ago", "3 d ago". An
/// instant ahead of `now` (a sender's clock running fast) is said as such.
pub fn age(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds();
    if secs < 0 {
        return format!("{} ahead of this clock", span(-secs));
    }
    if secs < 10 {
        return "just now".into();
    }
    format!("{} ago", span(secs))
}

fn span(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3_600 => format!("{} min", s / 60),
        s if s < 48 * 3_600 => format!("{} h", s / 3_600),
        s => format!("{} d", s / 86_400),
    }
}

/// A page that only says something: a banner, a heading and a few paragraphs.
pub fn message_page(title: &str, banner_class: &str, banner: &str, paragraphs: &[String]) -> String {
    let body = html! {
        div class=(format!("banner {banner_class}")) role="status" { (banner) }
        h1 { (title) }
        @for paragraph in paragraphs {
            p { (paragraph) }
        }
    };
    page(title, body)
}

/// The line at the top of a decision form saying what to fix, when a POST was not
/// taken.
pub fn error_line(error: Option<&str>) -> Markup {
    html! {
        @if let Some(error) = error {
            p class="error" role="alert" id="error" { (error) }
        }
    }
}

/// The facts of a request as a definition list, one (term, description) a row.
pub fn facts_list(rows: &[(&str, String)]) -> Markup {
    html! {
        dl {
            @for (term, description) in rows {
                dt { (term) }
                dd { (description) }
            }
        }
    }
}

/// The two fields every decision form has: who decides, and the mirror's name
/// typed to confirm. Both show back what was typed when the form comes again.
pub fn name_and_confirm(mirror: &str, approver: &str, confirm: &str) -> Markup {
    html! {
        label for="approver" { "Your name" }
        input type="text" id="approver" name="approver" autocomplete="name" required maxlength="100" value=(approver);
        label for="confirm" { "Type " strong { (mirror) } " to confirm" }
        input type="text" id="confirm" name="confirm" required maxlength="100" autocapitalize="characters" spellcheck="false" value=(confirm);
    }
}

/// The two buttons that end a decision form: only they decide.
pub fn decision_buttons(approve: &str, reject: &str) -> Markup {
    html! {
        div class="buttons" {
            button type="submit" name="decision" value="approve" class="approve" { (approve) }
            button type="submit" name="decision" value="reject" { (reject) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn age_in_words() {
        let now = at("2026-11-25T03:10:00Z");
        assert_eq!(age(now, now), "just now");
        assert_eq!(age(at("2026-11-25T03:09:51Z"), now), "just now");
        assert_eq!(age(at("2026-11-25T03:09:50Z"), now), "10 s ago");
        assert_eq!(age(at("2026-11-25T03:09:15Z"), now), "45 s ago");
        assert_eq!(age(at("2026-11-25T03:09:00Z"), now), "1 min ago");
        assert_eq!(age(at("2026-11-25T03:06:30Z"), now), "3 min ago");
        assert_eq!(age(at("2026-11-25T02:10:01Z"), now), "59 min ago");
        assert_eq!(age(at("2026-11-25T01:05:00Z"), now), "2 h ago");
        assert_eq!(age(at("2026-11-23T03:10:01Z"), now), "47 h ago");
        assert_eq!(age(at("2026-11-22T03:10:00Z"), now), "3 d ago");
        assert_eq!(age(at("2026-11-25T03:12:00Z"), now), "2 min ahead of this clock");
    }

    #[test]
    fn the_status_frame_refreshes_itself_and_escapes_its_title() {
        let html = wide_refreshing_page("<HSPROD>", 30, html! { p { "body" } });
        assert!(html.contains("<meta http-equiv=\"refresh\" content=\"30\">"));
        assert!(html.contains("<main class=\"wide\"><p>body</p>"));
        assert!(html.contains("<title>&lt;HSPROD&gt; - mirrorgate</title>"));
        assert!(!page("x", html! {}).contains("refresh"));
    }

    #[test]
    fn a_message_page_escapes_what_it_is_given() {
        let hostile = "<script>alert('x')</script>&\"";
        let html = message_page(hostile, "warn", hostile, &[hostile.to_string()]);
        assert!(!html.contains("<script>"), "{html}");
        assert_eq!(
            html.matches("&lt;script&gt;alert('x')&lt;/script&gt;&amp;&quot;")
                .count(),
            4,
            "{html}"
        );
    }

    #[test]
    fn the_form_fields_escape_what_was_typed() {
        let typed = "\"><script>x</script>";
        let html = name_and_confirm("HSPROD", typed, typed).into_string();
        assert!(!html.contains("<script>"), "{html}");
        assert_eq!(
            html.matches("value=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\"")
                .count(),
            2,
            "{html}"
        );
    }
}
