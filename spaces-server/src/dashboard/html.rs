//! The dashboard's pages, written as HTML strings (every value escaped) with a little inline
//! JavaScript that refreshes them.

use super::view::{Logs, SpaceView};
use crate::frontdoor::pages::escape;
use crate::identity::Principal;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}\
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.4rem .8rem;\
text-align:left}th{background:#f6f6f6}.stage{font-weight:bold}\
.RUNNING{color:#16794a}.SLEEPING,.PAUSED{color:#777}.BUILDING,.APP_STARTING{color:#a66b00}\
.BUILD_ERROR,.RUNTIME_ERROR,.CONFIG_ERROR{color:#b00020}\
iframe{width:100%;height:60vh;border:1px solid #ccc}pre{background:#f4f4f4;padding:.8rem;\
max-height:20rem;overflow:auto;white-space:pre-wrap}header{display:flex;gap:1rem;\
align-items:baseline}header form{margin-left:auto}";

fn shell(title: &str, body: &str, script: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>{STYLE}</style></head><body>{body}<script>{script}</script></body></html>",
        t = escape(title)
    )
}

/// The login form; `problem`: why the last try failed.
pub fn login(problem: Option<&str>) -> String {
    let problem = problem
        .map(|p| format!("<p class=\"problem\">{}</p>", escape(p)))
        .unwrap_or_default();
    shell(
        "Spaces: log in",
        &format!(
            "<h1>Spaces</h1>{problem}<form method=\"post\" action=\"/login\">\
             <label>Access token <input name=\"token\" type=\"password\" size=\"40\"></label> \
             <button>Log in</button></form>\
             <p>Create one with <code>spaces-server tokens create --data DIR NAME</code>.</p>"
        ),
        "",
    )
}

fn row(s: &SpaceView) -> String {
    format!(
        "<tr data-id=\"{id}\"><td><a href=\"{page}\">{id}</a>{lock}</td>\
         <td class=\"stage {stage}\" data-stage=\"{stage}\">{stage}</td><td>{sdk}</td>\
         <td>{hw}</td><td>{storage}</td><td>{sleep}</td>\
         <td class=\"cost\" data-cost=\"{cost}\">${cost}</td>\
         <td><a class=\"host\" href=\"{url}\">{host}</a></td></tr>",
        id = escape(&s.id),
        page = escape(&s.page),
        lock = if s.private { " (private)" } else { "" },
        stage = escape(&s.stage),
        sdk = escape(&s.sdk),
        hw = escape(&s.hardware),
        storage = escape(&s.storage),
        sleep = escape(&s.sleep),
        cost = escape(&s.cost),
        url = escape(&s.app_url),
        host = escape(&s.host),
    )
}

/// The script that refreshes the rows' stage and cost every 2 s (and adds missing rows by
/// reloading).
const REFRESH_INDEX: &str = "setInterval(async()=>{try{const r=await fetch('/dashboard/spaces.json',\
{credentials:'same-origin'});if(!r.ok)return;const list=await r.json();\
const rows=document.querySelectorAll('tr[data-id]');if(rows.length!==list.length){location.reload();return;}\
for(const s of list){const tr=document.querySelector('tr[data-id=\"'+CSS.escape(s.id)+'\"]');\
if(!tr){location.reload();return;}const st=tr.querySelector('.stage');st.textContent=s.stage;\
st.dataset.stage=s.stage;st.className='stage '+s.stage;const c=tr.querySelector('.cost');\
c.textContent='$'+s.cost;c.dataset.cost=s.cost;}}catch(e){}},2000);";

/// The index: the caller's Spaces.
pub fn index(p: &Principal, spaces: &[SpaceView]) -> String {
    let rows: String = spaces.iter().map(row).collect();
    let total: rust_decimal::Decimal = spaces
        .iter()
        .filter_map(|s| s.cost.parse::<rust_decimal::Decimal>().ok())
        .sum();
    let body = format!(
        "<header><h1>Spaces of {user}</h1><span id=\"total\">this month so far: ${total:.2}</span>\
         <form method=\"post\" action=\"/logout\"><button>Log out</button></form></header>\
         <table id=\"spaces\"><thead><tr><th>Space</th><th>Stage</th><th>SDK</th>\
         <th>Hardware</th><th>Storage</th><th>Sleeps after</th><th>Cost this month</th>\
         <th>Host</th></tr></thead><tbody>{rows}</tbody></table>{none}",
        user = escape(&p.user),
        none = if spaces.is_empty() {
            "<p>No Spaces yet: create one with <code>huggingface_hub</code> \
             (<code>create_repo(..., repo_type=\"space\")</code>) or <code>git push</code>.</p>"
        } else {
            ""
        },
    );
    shell(&format!("Spaces of {}", p.user), &body, REFRESH_INDEX)
}

/// The Space page: the app in an iframe, its stage (refreshed) and its logs (members).
pub fn space(s: &SpaceView, logs: Option<&Logs>) -> String {
    let logs_html = match logs {
        Some(l) => format!(
            "<h2>Build log</h2><pre id=\"build-log\">{}</pre><h2>Run log</h2>\
             <pre id=\"run-log\">{}</pre>",
            escape(&l.build.join("\n")),
            escape(&l.run.join("\n"))
        ),
        None => String::new(),
    };
    let error = s
        .error
        .as_deref()
        .map(|e| format!("<p id=\"error\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<header><h1><a href=\"/\">Spaces</a> / {id}</h1>\
         <span class=\"stage {stage}\" id=\"stage\" data-stage=\"{stage}\">{stage}</span>\
         <span id=\"cost\" data-cost=\"{cost}\">this month: ${cost}</span>\
         <a href=\"{url}\">{host}</a></header>\
         <p>{sdk} · {hw} · storage {storage} · sleeps after {sleep}</p>{error}\
         <iframe id=\"app\" src=\"{url}\" title=\"{id}\"></iframe>{logs_html}",
        id = escape(&s.id),
        stage = escape(&s.stage),
        cost = escape(&s.cost),
        url = escape(&s.app_url),
        host = escape(&s.host),
        sdk = escape(&s.sdk),
        hw = escape(&s.hardware),
        storage = escape(&s.storage),
        sleep = escape(&s.sleep),
    );
    let script = format!(
        "const api='/dashboard{page}.json';let last='{stage}';\
         setInterval(async()=>{{try{{const r=await fetch(api,{{credentials:'same-origin'}});\
         if(!r.ok)return;const s=await r.json();const st=document.getElementById('stage');\
         st.textContent=s.stage;st.dataset.stage=s.stage;st.className='stage '+s.stage;\
         const c=document.getElementById('cost');c.textContent='this month: $'+s.cost;\
         c.dataset.cost=s.cost;if(s.stage==='RUNNING'&&last!=='RUNNING'){{\
         document.getElementById('app').src=s.app_url;}}last=s.stage;}}catch(e){{}}}},2000);",
        page = s.page.replace(['\'', '\\', '<'], ""),
        stage = s.stage.replace(['\'', '\\', '<'], ""),
    );
    shell(&s.id, &body, &script)
}
