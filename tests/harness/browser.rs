//! A real headless Chromium for the tests, driven over the Chrome DevTools Protocol.
//!
//! Each [`Browser`] is a `chromium` process of its own with a fresh profile, controlled through
//! its page's DevTools WebSocket. Clicks and key presses are real input events, dispatched by the
//! browser as if they came from a mouse or a keyboard, so they go through hit testing, focus and
//! the default actions of buttons and forms.
//!
//! Every wait is bounded: a test fails with what the page showed rather than hang.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// How long Chromium gets to start and open its DevTools endpoint.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one DevTools command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a navigation may take to fire the page's load event.
const LOAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`Browser::click`] waits for its element to be there, visible and not covered.
const CLICK_TIMEOUT: Duration = Duration::from_secs(5);
/// How often conditions are polled.
const POLL: Duration = Duration::from_millis(25);

const NOT_INSTALLED: &str = "chromium not found: the browser tests need Debian's chromium package. Install it with \
     `apt-get install chromium` and run the tests again.";

/// A JavaScript function that finds the first element matching a selector in the page or, failing
/// that, inside the open shadow roots in it (a widget drawn in one, say), depth first.
const DEEP_QUERY: &str = r#"(selector) => {
    const find = (root) => {
        const found = root.querySelector(selector);
        if (found) return found;
        for (const element of root.querySelectorAll("*")) {
            const inner = element.shadowRoot && find(element.shadowRoot);
            if (inner) return inner;
        }
        return null;
    };
    return find(document);
}"#;

/// A JavaScript expression for the element that has the focus, inside shadow roots too
/// (`document.activeElement` stops at their host).
pub const DEEP_ACTIVE: &str = r#"(() => {
    let active = document.activeElement;
    while (active && active.shadowRoot && active.shadowRoot.activeElement) active = active.shadowRoot.activeElement;
    return active;
})()"#;

/// A headless Chromium with one page. Killed, and its profile removed, when dropped.
pub struct Browser {
    process: Child,
    dir: PathBuf,
    connection: Connection,
}

impl Browser {
    /// Starts Chromium with a fresh profile and connects to its page. Panics if Chromium is not
    /// installed or does not come up.
    pub async fn launch() -> Browser {
        let executable = find_chromium().unwrap_or_else(|| panic!("{NOT_INSTALLED}"));
        let dir = fresh_dir();
        let profile = dir.join("profile");
        let log_path = dir.join("chromium.log");
        let log =
            std::fs::File::create(&log_path).unwrap_or_else(|e| panic!("can't create {}: {e}", log_path.display()));
        let errors = log.try_clone().expect("a log file can be shared by stdout and stderr");
        let mut command = Command::new(&executable);
        command
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            .args(["--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"])
            // Loopback only, whatever proxy the environment names.
            .args(["--no-proxy-server", "--window-size=1280,800", "--remote-debugging-port=0"])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(errors);
        // Its own process group, so that dropping the browser ends its helper processes too.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let process = match command.spawn() {
            Ok(process) => process,
            Err(error) => {
                let _ = std::fs::remove_dir_all(&dir);
                if error.kind() == std::io::ErrorKind::NotFound {
                    panic!("{NOT_INSTALLED}");
                }
                panic!("could not run {}: {error}", executable.display());
            }
        };
        // From here on, a panic drops the half-started browser, which kills it.
        let mut starting = Starting { process: Some(process), dir: Some(dir) };
        let port = starting.devtools_port(&profile, &log_path).await;
        let page = page_websocket(port).await.unwrap_or_else(|e| panic!("chromium's page target: {e}"));
        let connection = Connection::open(&page).await;
        let (process, dir) = starting.done();
        let browser = Browser { process, dir, connection };
        browser.call("Page.enable", json!({})).await;
        browser.call("Runtime.enable", json!({})).await;
        browser.call("Log.enable", json!({})).await;
        // A headless page never has the window's focus; this makes focus and `:focus-visible`
        // behave as in a focused window.
        browser.call("Emulation.setFocusEmulationEnabled", json!({ "enabled": true })).await;
        browser
    }

    /// Sends a DevTools command to the page and returns its result. Panics if the browser
    /// refuses it or does not answer in time.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        match self.connection.call(method, params).await {
            Ok(result) => result,
            Err(error) => panic!("{method}: {error}"),
        }
    }

    /// Opens `url` and waits until the page has loaded (its `load` event fired).
    pub async fn navigate(&self, url: &str) {
        let mark = self.connection.event_count();
        let answer = self.call("Page.navigate", json!({ "url": url })).await;
        if let Some(error) = answer.get("errorText").and_then(Value::as_str) {
            panic!("could not open {url}: {error}");
        }
        let deadline = Instant::now() + LOAD_TIMEOUT;
        while !self.connection.events_since(mark).iter().any(|event| event["method"] == "Page.loadEventFired") {
            if Instant::now() >= deadline {
                panic!("{url} did not finish loading within {LOAD_TIMEOUT:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Evaluates a JavaScript expression in the page, awaiting it if it is a promise, and
    /// returns its value as JSON (`null` for `undefined`). Panics if it throws.
    pub async fn eval(&self, expression: &str) -> Value {
        let answer = self
            .call("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }))
            .await;
        if let Some(details) = answer.get("exceptionDetails") {
            panic!("the page threw evaluating `{expression}`: {}", describe_exception(details));
        }
        answer["result"].get("value").cloned().unwrap_or(Value::Null)
    }

    /// Polls a JavaScript condition until it is truthy and returns its value. Panics, with what
    /// the page shows, if it is not within `timeout`.
    pub async fn wait_for(&self, condition: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.eval(condition).await;
            if truthy(&value) {
                return value;
            }
            if Instant::now() >= deadline {
                let text = self.eval("document.body ? document.body.innerText : ''").await;
                panic!(
                    "still not true after {timeout:?}: {condition}\nlast value: {value}\npage text: {}\npage errors: {:?}",
                    text.as_str().unwrap_or_default(),
                    self.errors()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Clicks the centre of the first element matching `selector` (in the page or inside an open
    /// shadow root) with the mouse, as a user
    /// would: it is scrolled into view, and the click fails if the element is hidden or covered
    /// by another. Waits a little for the element to appear.
    pub async fn click(&self, selector: &str) {
        let (x, y) = self.clickable_point(selector).await;
        for (kind, buttons) in [("mouseMoved", 0), ("mousePressed", 1), ("mouseReleased", 0)] {
            let mut event = json!({ "type": kind, "x": x, "y": y, "buttons": buttons });
            if kind != "mouseMoved" {
                event["button"] = json!("left");
                event["clickCount"] = json!(1);
            }
            self.call("Input.dispatchMouseEvent", event).await;
        }
    }

    /// Where a click on the element would land, once the element is there, visible and on top.
    async fn clickable_point(&self, selector: &str) -> (f64, f64) {
        let script = format!(
            r#"(() => {{
                const element = ({DEEP_QUERY})({selector});
                if (!element) return {{ problem: "no element matches" }};
                element.scrollIntoView({{ block: "center", inline: "center" }});
                const box = element.getBoundingClientRect();
                if (box.width === 0 || box.height === 0) return {{ problem: "the element has no size (hidden?)" }};
                const x = box.left + box.width / 2, y = box.top + box.height / 2;
                // Down through shadow roots to the element itself.
                let hit = document.elementFromPoint(x, y);
                while (hit && hit.shadowRoot) {{
                    const inner = hit.shadowRoot.elementFromPoint(x, y);
                    if (!inner || inner === hit) break;
                    hit = inner;
                }}
                if (!hit || !(hit === element || element.contains(hit))) {{
                    return {{ problem: "the element is covered by " + (hit ? hit.outerHTML.slice(0, 120) : "nothing") }};
                }}
                return {{ x, y }};
            }})()"#,
            selector = js_string(selector)
        );
        let deadline = Instant::now() + CLICK_TIMEOUT;
        loop {
            let point = self.eval(&script).await;
            if let (Some(x), Some(y)) = (point["x"].as_f64(), point["y"].as_f64()) {
                return (x, y);
            }
            if Instant::now() >= deadline {
                panic!("can't click {selector}: {}", point["problem"].as_str().unwrap_or("?"));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Types text into the focused element, as an input method would.
    pub async fn type_text(&self, text: &str) {
        self.call("Input.insertText", json!({ "text": text })).await;
    }

    /// Presses and releases a key: `Enter`, `Tab`, `Space` (or `" "`), `Escape`, `Backspace`, an
    /// arrow (`ArrowRight`…), each optionally prefixed `Shift+`.
    pub async fn press(&self, key: &str) {
        let (shift, name) = match key.strip_prefix("Shift+") {
            Some(name) => (true, name),
            None => (false, key),
        };
        let (key_value, code, key_code, text) = match name {
            "Enter" => ("Enter", "Enter", 13, "\r"),
            "Tab" => ("Tab", "Tab", 9, ""),
            "Space" | " " => (" ", "Space", 32, " "),
            "Escape" => ("Escape", "Escape", 27, ""),
            "Backspace" => ("Backspace", "Backspace", 8, ""),
            "ArrowLeft" => ("ArrowLeft", "ArrowLeft", 37, ""),
            "ArrowUp" => ("ArrowUp", "ArrowUp", 38, ""),
            "ArrowRight" => ("ArrowRight", "ArrowRight", 39, ""),
            "ArrowDown" => ("ArrowDown", "ArrowDown", 40, ""),
            other => panic!("press: no key named {other:?}"),
        };
        let mut down = json!({
            "type": if text.is_empty() { "rawKeyDown" } else { "keyDown" },
            "key": key_value,
            "code": code,
            "windowsVirtualKeyCode": key_code,
            "nativeVirtualKeyCode": key_code,
            "modifiers": if shift { 8 } else { 0 },
        });
        if !text.is_empty() {
            down["text"] = json!(text);
            down["unmodifiedText"] = json!(text);
        }
        let mut up = down.clone();
        up["type"] = json!("keyUp");
        self.call("Input.dispatchKeyEvent", down).await;
        self.call("Input.dispatchKeyEvent", up).await;
    }

    /// Saves the whole page, beyond the viewport if it is longer, as a PNG file, creating its
    /// directory.
    pub async fn screenshot(&self, path: &Path) {
        let size = self
            .eval("({ width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight })")
            .await;
        let clip = json!({ "x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1 });
        let answer = self
            .call("Page.captureScreenshot", json!({ "format": "png", "clip": clip, "captureBeyondViewport": true }))
            .await;
        save_png(&answer, path);
    }

    /// Saves the first element matching `selector` (in the page or inside an open shadow root),
    /// with `margin` CSS pixels around it, as a PNG
    /// file, creating its directory.
    pub async fn screenshot_element(&self, selector: &str, margin: f64, path: &Path) {
        let script = format!(
            r#"(() => {{
                const element = ({DEEP_QUERY})({selector});
                if (!element) return null;
                element.scrollIntoView({{ block: "center" }});
                const box = element.getBoundingClientRect();
                return {{ x: box.left + scrollX, y: box.top + scrollY, width: box.width, height: box.height }};
            }})()"#,
            selector = js_string(selector)
        );
        let area = self.eval(&script).await;
        let number = |field: &str| area[field].as_f64().unwrap_or_else(|| panic!("no element matches {selector}"));
        let (x, y) = ((number("x") - margin).max(0.0), (number("y") - margin).max(0.0));
        let clip = json!({
            "x": x, "y": y,
            "width": number("width") + number("x") - x + margin,
            "height": number("height") + number("y") - y + margin,
            "scale": 1,
        });
        let answer = self.call("Page.captureScreenshot", json!({ "format": "png", "clip": clip })).await;
        save_png(&answer, path);
    }

    /// What went wrong in the page so far: uncaught exceptions, `console.error` calls and errors
    /// the browser logged (failed requests, blocked content). The browser's own request for a
    /// `/favicon.ico` is not the page's, and does not count.
    pub fn errors(&self) -> Vec<String> {
        self.connection.events_since(0).iter().filter_map(page_error).collect()
    }

    /// Every DevTools event received so far (`{"method": …, "params": …}`), oldest first.
    pub fn events(&self) -> Vec<Value> {
        self.connection.events_since(0)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.connection.close();
        stop(&mut self.process);
        remove_dir(&self.dir);
    }
}

/// A browser between its start and its connection: killed if the start fails.
struct Starting {
    process: Option<Child>,
    dir: Option<PathBuf>,
}

impl Starting {
    /// The DevTools port Chromium chose, from the `DevToolsActivePort` file it writes into its
    /// profile.
    async fn devtools_port(&mut self, profile: &Path, log: &Path) -> u16 {
        let file = profile.join("DevToolsActivePort");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            // The file holds the port and the browser's WebSocket path, one a line; it may be
            // read half-written.
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let mut lines = text.lines();
            if let (Some(Ok(port)), Some(_)) = (lines.next().map(str::parse::<u16>), lines.next()) {
                return port;
            }
            let process = self.process.as_mut().expect("the process runs while starting");
            if let Ok(Some(status)) = process.try_wait() {
                panic!("chromium exited ({status}) before opening DevTools:\n{}", tail(log));
            }
            if Instant::now() >= deadline {
                panic!("chromium did not open DevTools within {START_TIMEOUT:?}:\n{}", tail(log));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn done(mut self) -> (Child, PathBuf) {
        (self.process.take().expect("not done twice"), self.dir.take().expect("not done twice"))
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        if let Some(process) = &mut self.process {
            stop(process);
        }
        if let Some(dir) = &self.dir {
            remove_dir(dir);
        }
    }
}

/// Kills Chromium and its helper processes (its process group) and reaps it.
fn stop(process: &mut Child) {
    #[cfg(unix)]
    {
        // The helpers (zygote, renderers) end on their own when the browser process dies, but
        // not at once; killing the group leaves nothing behind writing into the profile.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", process.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = process.kill();
    let _ = process.wait();
}

fn remove_dir(dir: &Path) {
    // A helper process may still be writing for a moment after the kill.
    for _ in 0..20 {
        if std::fs::remove_dir_all(dir).is_ok() || !dir.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// `/usr/bin/chromium`, else `chromium` on the PATH.
fn find_chromium() -> Option<PathBuf> {
    let debian = PathBuf::from("/usr/bin/chromium");
    if debian.is_file() {
        return Some(debian);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("chromium")).find(|candidate| candidate.is_file())
}

fn fresh_dir() -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.subsec_nanos());
    let name = format!("ratewire-chromium-{}-{}-{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    let dir = std::env::temp_dir().join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("can't create {}: {e}", dir.display()));
    dir
}

/// The last lines of Chromium's output.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(20).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join("\n")
}

/// The WebSocket URL of the browser's page (the tab it opened on `about:blank`).
async fn page_websocket(port: u16) -> Result<String, String> {
    let client = reqwest::Client::builder().no_proxy().timeout(COMMAND_TIMEOUT).build().map_err(|e| e.to_string())?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let targets: Vec<Value> = match client.get(format!("http://127.0.0.1:{port}/json/list")).send().await {
            Ok(response) => response.json().await.map_err(|e| format!("/json/list: {e}"))?,
            Err(error) => return Err(format!("/json/list: {error}")),
        };
        let page = targets.iter().find(|target| target["type"] == "page" && target["url"] == "about:blank");
        if let Some(url) = page.and_then(|target| target["webSocketDebuggerUrl"].as_str()) {
            return Ok(url.to_owned());
        }
        if Instant::now() >= deadline {
            return Err(format!("no about:blank page among {targets:?}"));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// What the connection's task and its callers share.
#[derive(Default)]
struct Shared {
    /// Commands sent and not yet answered, by id.
    waiting: Mutex<HashMap<u64, oneshot::Sender<Value>>>,
    /// Every event received, oldest first.
    events: Mutex<Vec<Value>>,
}

/// A DevTools WebSocket: commands go out through a task that also files what comes in.
struct Connection {
    outgoing: mpsc::UnboundedSender<Message>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
    task: JoinHandle<()>,
}

impl Connection {
    async fn open(url: &str) -> Connection {
        let (socket, _) = tokio::time::timeout(COMMAND_TIMEOUT, tokio_tungstenite::connect_async(url))
            .await
            .unwrap_or_else(|_| panic!("no DevTools WebSocket handshake with {url} within {COMMAND_TIMEOUT:?}"))
            .unwrap_or_else(|e| panic!("can't connect to DevTools at {url}: {e}"));
        let (mut sink, mut stream) = socket.split();
        let (outgoing, mut queue) = mpsc::unbounded_channel::<Message>();
        let shared = Arc::new(Shared::default());
        let filed = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    message = queue.recv() => {
                        let Some(message) = message else { return };
                        if sink.send(message).await.is_err() {
                            return;
                        }
                    }
                    incoming = stream.next() => {
                        let Some(Ok(message)) = incoming else { return };
                        let Message::Text(text) = message else { continue };
                        let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                        match value.get("id").and_then(Value::as_u64) {
                            Some(id) => {
                                if let Some(waiter) = filed.waiting.lock().expect("not poisoned").remove(&id) {
                                    let _ = waiter.send(value);
                                }
                            }
                            None => filed.events.lock().expect("not poisoned").push(value),
                        }
                    }
                }
            }
        });
        Connection { outgoing, shared, next_id: AtomicU64::new(1), task }
    }

    async fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (answer, answered) = oneshot::channel();
        self.shared.waiting.lock().expect("not poisoned").insert(id, answer);
        let command = json!({ "id": id, "method": method, "params": params });
        self.outgoing
            .send(Message::Text(command.to_string().into()))
            .map_err(|_| "the DevTools connection is closed".to_owned())?;
        let answer = match tokio::time::timeout(COMMAND_TIMEOUT, answered).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => return Err("the DevTools connection closed before answering".into()),
            Err(_) => {
                self.shared.waiting.lock().expect("not poisoned").remove(&id);
                return Err(format!("no answer within {COMMAND_TIMEOUT:?}"));
            }
        };
        match answer.get("error") {
            Some(error) => Err(error.to_string()),
            None => Ok(answer.get("result").cloned().unwrap_or(Value::Null)),
        }
    }

    fn event_count(&self) -> usize {
        self.shared.events.lock().expect("not poisoned").len()
    }

    fn events_since(&self, mark: usize) -> Vec<Value> {
        self.shared.events.lock().expect("not poisoned").get(mark..).unwrap_or_default().to_vec()
    }

    fn close(&self) {
        self.task.abort();
    }
}

/// A page error, from a DevTools event, as text.
fn page_error(event: &Value) -> Option<String> {
    let params = &event["params"];
    match event["method"].as_str()? {
        "Runtime.exceptionThrown" => Some(format!("uncaught: {}", describe_exception(&params["exceptionDetails"]))),
        "Runtime.consoleAPICalled" if params["type"] == "error" || params["type"] == "assert" => {
            let parts: Vec<String> = params["args"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|arg| match (&arg["value"], arg["description"].as_str()) {
                    (Value::String(text), _) => text.clone(),
                    (Value::Null, Some(description)) => description.to_owned(),
                    (value, _) => value.to_string(),
                })
                .collect();
            Some(format!("console.error: {}", parts.join(" ")))
        }
        "Log.entryAdded"
            if params["entry"]["level"] == "error"
                && !params["entry"]["url"].as_str().is_some_and(|url| url.ends_with("/favicon.ico")) =>
        {
            let entry = &params["entry"];
            Some(format!(
                "{}: {} ({})",
                entry["source"].as_str()?,
                entry["text"].as_str()?,
                entry["url"].as_str().unwrap_or("")
            ))
        }
        _ => None,
    }
}

fn describe_exception(details: &Value) -> String {
    let text = details["text"].as_str().unwrap_or("exception");
    match details["exception"]["description"].as_str() {
        Some(description) => format!("{text} {description}"),
        None => format!("{text} {}", details["exception"]["value"]),
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0 && !n.is_nan()),
        Value::String(text) => !text.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// Where a test keeps a screenshot: `target/test-artifacts/` (under `CARGO_TARGET_DIR` if set).
pub fn artifact(name: &str) -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the tests crate is in the workspace");
    let target = match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    target.join("test-artifacts").join(name)
}

/// A Rust string as a JavaScript string literal.
pub fn js_string(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

fn save_png(answer: &Value, path: &Path) {
    let data = answer["data"].as_str().expect("a screenshot has data");
    let png = base64::engine::general_purpose::STANDARD.decode(data).expect("a screenshot is base64");
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("can't create {}: {e}", dir.display()));
    }
    std::fs::write(path, png).unwrap_or_else(|e| panic!("can't write {}: {e}", path.display()));
}
