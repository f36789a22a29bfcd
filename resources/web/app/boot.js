// The boot page: v86 with its first serial port on an xterm.js terminal.
// Python drives it through `window.studio` (runJavaScript) and hears from it through one
// QWebChannel object, `bridge`: bridge.event(json) for progress and state, bridge.serial(text, ms)
// for console output. A call from Python that wants an answer (inject, pull, saveState) brings a
// request id, and the answer carries it back: Python acts on nothing else.
"use strict";

const term = new Terminal({
  convertEol: false, cursorBlink: true, scrollback: 10000,
  fontFamily: "DejaVu Sans Mono, Liberation Mono, monospace", fontSize: 13,
  theme: { background: "#1e1e1e" },
});
const fit = new FitAddon.FitAddon();
term.loadAddon(fit);
const search = new SearchAddon.SearchAddon();  // find in the scrollback: selects the match, scrolls to it
term.loadAddon(search);
term.open(document.getElementById("terminal"));
fit.fit();
new ResizeObserver(() => fit.fit()).observe(document.getElementById("terminal"));

const embedded = new URLSearchParams(location.search).has("embedded");  // in the studio, not the bundle
let bridge = null;
let emulator = null;
let bootStart = 0;
let bootCount = 0;         // which boot the output belongs to
let outBytes = [];         // serial output not yet shown and sent to Python
let flushTimer = null;
let lastBatch = 0;         // bytes in the previous batch
// Serial output goes to the terminal and to Python in batches. A batch leaves 8 ms after its
// first byte, so typing echoes at once; while the guest prints a lot (the previous batch was
// big) it waits 80 ms. Redrawing the terminal, not parsing, is what costs: xterm.js redraws after
// every write, up to every frame, on the thread that also runs the emulator. Measured in
// QtWebEngine offscreen, 10 MiB of lines: 19-20 s with 8 ms batches, 14-15 s with these, about
// 14 s with no terminal and no bridge at all (the rest is v86's UART: a call per byte).
const QUICK_BATCH_MS = 8, BULK_BATCH_MS = 80, BULK_BYTES = 1024;
let decoder = new TextDecoder("utf-8");
// Inside the studio the window's status bar reports progress; the page's own bar is for
// standalone use (the exported bundle).
if (embedded) document.getElementById("status").hidden = true;
const statusText = document.getElementById("status-text");
const progressBar = document.getElementById("progress");

function now() { return performance.now() - bootStart; }

function send(event) {
  event.t = now();
  if (bridge) bridge.event(JSON.stringify(event));
}

function setStatus(text, fraction) {
  statusText.textContent = text;
  if (fraction === undefined || fraction === null) { progressBar.hidden = true; }
  else { progressBar.hidden = false; progressBar.value = fraction; }
}

function toBase64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

function fromBase64(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

// Run a request from Python and send its one reply, with the request's id: what `work` returns,
// or what went wrong.
async function reply(type, request, work) {
  let answer;
  try {
    answer = await work();
  } catch (e) {
    answer = { error: String((e && e.message) || e) };
  }
  send({ type, request, ...answer });
}

function flushSerial() {
  flushTimer = null;
  if (!outBytes.length) return;
  const text = decoder.decode(new Uint8Array(outBytes), { stream: true });
  lastBatch = outBytes.length;
  outBytes = [];
  if (!text) return;
  // Python hears of the output once the terminal has taken it in: then the terminal's answers to
  // what the guest asked in it (a prompt's cursor-position query) are on their way to the guest
  // before anything Python types after seeing that prompt. Output of an earlier boot is dropped.
  const t = now(), boot = bootCount;
  term.write(text, () => { if (bridge && boot === bootCount) bridge.serial(text, t); });
}

// Copy and paste: in the studio, Ctrl+Shift+C / Ctrl+Shift+V are its shortcuts, handled in Qt before
// the page sees them (plain Ctrl+C and Ctrl+V go to the guest). Should one reach the page anyway,
// it does nothing here: neither xterm.js nor the browser's own paste (a second paste). The page
// has no clipboard access there and tells Python nothing about the clipboard. Standalone (the
// exported bundle) the browser's own copy and paste apply.
term.attachCustomKeyEventHandler((e) => {
  if (embedded && e.ctrlKey && e.shiftKey && (e.code === "KeyC" || e.code === "KeyV")) {
    e.preventDefault();
    return false;
  }
  return true;
});
term.onData((data) => { if (emulator) emulator.serial0_send(data); });

let ninep = { active: 0, files: 0, lastReport: 0, since: 0, waited: 0 };

// The guest's HTTP, in the studio: the studio answers it (studio://app/net/…), deciding what the
// guest may reach; the status comes in X-Studio-Status (a scheme handler cannot set one).
async function studioFetch(url, opts) {
  const asked = await fetch("net/" + encodeURIComponent(url), { method: opts.method, headers: opts.headers, body: opts.body });
  const status = parseInt(asked.headers.get("x-studio-status") || "502", 10);
  const headers = new Headers({ "content-type": asked.headers.get("content-type") || "application/octet-stream" });
  for (const [key, value] of asked.headers) if (key.startsWith("x-studio-header-")) headers.set(key.slice(16), value);
  const empty = [101, 204, 205, 304].includes(status);
  return new Response(empty ? null : asked.body, { status, statusText: asked.headers.get("x-studio-reason") || "", headers });
}

// The guest's HTTP in an exported bundle: the project's repositories (config.repositories: guest
// host -> URL) are fetched from the visitor's browser, which needs the repository to send CORS
// headers; with network "web" other plain-HTTP URLs are fetched as they are; nothing else.
function bundleFetch(config, url, opts) {
  const target = new URL(url);
  const upstream = (config.repositories || {})[target.hostname];
  // Only the method goes along: the guest's own headers would make these non-simple CORS
  // requests (a preflight most static hosts do not answer).
  const simple = { method: opts.method, body: opts.body };
  if (upstream) return fetch(upstream.replace(/\/$/, "") + target.pathname + target.search, simple);
  if (config.network === "web" && !/(^|\.)(localhost|external|internal|local)$/.test(target.hostname)) return fetch(url, simple);
  const why = `This page's machine may reach only its repositories, not ${target.hostname}.\n`;
  return Promise.resolve(new Response(why, { status: 403, statusText: "Forbidden", headers: { "content-type": "text/plain" } }));
}

// A saved state is mostly empty memory: gzipped by the browser (natively, in a stream) it
// crosses the channel in a tenth of the pieces; the studio unpacks it and keeps it as zstd.
async function sendState(request, piece, state) {
  if (!bridge) return;
  const packed = new Uint8Array(await new Response(new Blob([state]).stream()
    .pipeThrough(new CompressionStream("gzip"))).arrayBuffer());
  const count = Math.ceil(packed.length / piece);
  for (let i = 0; i < count; i++) bridge.stateChunk(request, i, count, toBase64(packed.subarray(i * piece, (i + 1) * piece)));
}

// The clock and a random seed, as the studio's init reads them: "S N HEX".
function freshness() {
  const now = Date.now();
  const seed = new Uint8Array(32);
  crypto.getRandomValues(seed);
  return `${Math.floor(now / 1000)} ${(now % 1000) * 1000000} ${Array.from(seed, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function releaseInit(machine) {
  if (machine !== emulator) return;
  send({ type: "milestone", name: "go" });
  machine.serial0_send("go " + freshness() + "\n");
}

// A machine restored at its prompt: the clock keeper the init left behind sets the host's time
// and reseeds the random pool (it reads the virtio console, not the user's terminal).
function freshen(machine) {
  if (machine === emulator) machine.bus.send("virtio-console0-input-bytes", new TextEncoder().encode("time " + freshness() + "\n"));
}

// A restored kernel state still holds the image it was saved with: put today's in its place
// before the init mounts it (nothing of the old one was read: the guest has not mounted 9p).
// `image` is the fs.json, fetched while the state was being restored.
function attachImage(machine, json) {
  const fs = machine.fs9p;
  fs.inodes = [];
  fs.inodedata = {};
  fs.qidcounter.last_qidnumber = 0;
  fs.used_size = 0;
  fs.mounts = [];
  fs.CreateDirectory("", -1);
  fs.load_from_json(json);
  prefetch(fs);
}

// What every boot of an Alpine image reads first (BusyBox, the C library, /etc): fetch their
// contents now, in parallel, rather than one by one as the guest asks (v86 keeps them).
const BOOT_FILES = ["/bin/busybox", "/lib/ld-musl-i386.so.1", "/etc/inittab", "/etc/init.d/rcS", "/etc/profile",
                    "/etc/hostname", "/etc/passwd", "/etc/group", "/etc/motd", "/etc/fstab", "/etc/shells"];
function prefetch(fs) {
  for (const path of BOOT_FILES) {
    const id = fs.SearchPath(path).id;
    const inode = id === -1 ? null : fs.GetInode(id);
    if (inode && inode.sha256sum && inode.size) fs.storage.read(inode.sha256sum, 0, inode.size, inode.size).catch(() => {});
  }
}

window.studio = {
  // config: {cmdline, memory_mb, name}; the build is served under /build/.
  // image: the build's fs.json when the studio inlines it (a kernel-state boot), else fetched.
  boot(config, image) {
    this.stop();
    term.reset();
    bootStart = performance.now();
    bootCount++;
    ninep = { active: 0, files: 0, lastReport: 0, since: 0, waited: 0 };
    decoder = new TextDecoder("utf-8");
    outBytes = [];
    lastBatch = 0;
    let firstByte = true;
    setStatus("Starting " + (config.name || "machine") + "…", 0);
    const options = {
      wasm_path: "npm/v86/build/v86.wasm",
      bios: { url: "bios/bios.bin" },
      bzimage: { url: "kernel/bzImage" },
      cmdline: config.cmdline,
      memory_size: config.memory_mb * 1024 * 1024,
      vga_memory_size: 2 * 1024 * 1024,
      filesystem: { basefs: "build/fs.json", baseurl: "build/blobs/" },
      autostart: true,
      disable_keyboard: true,
      disable_mouse: true,
      disable_speaker: true,
    };
    // Every boot starts from the studio's initramfs: its init waits for a "go" line before it
    // mounts the image (see resources/init/studio_init.c). The virtio console carries the clock
    // and a random seed to a machine restored at its prompt, never through the user's terminal.
    if (config.initrd) options.initrd = { url: config.initrd };
    options.virtio_console = true;
    // A saved state is restored instead of booting; v86 decompresses zstd states itself. A prompt
    // state (initial_state: same image, kernel, BIOS, v86, settings) goes on at its shell; a kernel
    // state (kernel_state: the kernel up, waiting for the studio, no image read yet) is given
    // today's image and told to go.
    const restored = config.initial_state || config.kernel_state;
    if (restored) options.initial_state = { url: restored };
    // The network card, unless the project's network is off: v86's in-page network answers ARP,
    // DHCP and DNS; each HTTP request the guest makes (TCP port 80) goes to guestFetch.
    const network = config.network && config.network !== "off";
    // v86's network sends one TCP segment per acknowledgement: a 16 KiB MTU (virtio-net offers it
    // to the guest) makes a 10 MB download 4x faster than 1500 (2.5 -> 11 MB/s here); 32 KiB and
    // more stall v86's virtio-net.
    if (network) options.net_device = { type: "virtio", relay_url: "fetch", mtu: config.mtu || 16384 };
    emulator = new V86(options);
    if (network) {
      // v86 makes its network adapter while it starts: take over its fetch once it is there.
      const current = emulator;
      const takeOver = () => {
        const adapter = current.network_adapter;
        if (!adapter || adapter.studio) return;
        adapter.studio = true;
        adapter.fetch = embedded ? studioFetch : (url, opts) => bundleFetch(config, url, opts);
        // A restored machine's card does not announce its address again: learn it from what it sends.
        current.add_listener("net0-send", (frame) => { adapter.vm_mac = new Uint8Array(frame.slice(6, 12)); });
      };
      current.add_listener("emulator-loaded", takeOver);
      current.add_listener("emulator-ready", takeOver);
    }
    emulator.add_listener("download-progress", (e) => {
      const fraction = e.lengthComputable && e.total ? e.loaded / e.total : null;
      setStatus("Loading " + e.file_name, fraction);
      send({ type: "download", file: e.file_name, loaded: e.loaded, total: e.total || 0 });
    });
    emulator.add_listener("download-error", (e) => {
      setStatus("Could not load " + e.file_name);
      send({ type: "error", message: "could not load " + e.file_name });
    });
    const booted = emulator;
    // The bundle fetches its fs.json while the state loads; the studio inlines it.
    const attached = !config.kernel_state || image ? null
      : fetch("build/fs.json", { cache: "no-store" }).then((r) => r.json());
    emulator.add_listener("emulator-ready", () => {
      setStatus(config.initial_state ? "Restored" : "Booting…");
      send({ type: "milestone", name: "emulator-ready" });
      if (config.initial_state) send({ type: "milestone", name: "restored" });
    });
    // v86 restores a saved state after "emulator-ready" and says "emulator-loaded" once it has:
    // the image goes in and the init is told to go right then, in this callback (once it
    // returns, v86 runs the guest for a while).
    emulator.add_listener("emulator-loaded", async () => {
      if (!config.kernel_state) return;
      send({ type: "milestone", name: "kernel-restored" });
      attachImage(booted, image || await attached);
      releaseInit(booted);
    });
    // A cold boot: when the studio's init waits, the studio may save the machine (once per
    // kernel, BIOS, v86 and settings), then the init is told to go.
    let tail = "";
    const marker = "studio-init: waiting for the studio";
    emulator.add_listener("serial0-output-byte", async (byte) => {
      if (restored || tail === null) return;
      tail = (tail + String.fromCharCode(byte)).slice(-marker.length);
      if (tail !== marker) return;
      tail = null;
      send({ type: "milestone", name: "kernel-waiting" });
      if (!config.save_kernel_state) { releaseInit(booted); return; }
      const state = new Uint8Array(await booted.save_state());
      releaseInit(booted);  // the machine goes on while its saved state travels to the studio
      sendState(config.save_kernel_state, config.state_piece, state);
    });
    // The clock keeper says "fresh" on the virtio console once it has set a restored machine's clock.
    let keeperSaid = "";
    emulator.add_listener("virtio-console0-output-bytes", (bytes) => {
      keeperSaid = (keeperSaid + new TextDecoder().decode(bytes)).slice(-16);
      if (/fresh\r?\n$/.test(keeperSaid)) {  // a tty's output turns "\n" into "\r\n"
        keeperSaid = "";
        send({ type: "milestone", name: "freshened" });
      }
    });
    emulator.add_listener("emulator-started", () => {
      // A restored shell answers a newline with a fresh prompt; until it has said anything,
      // keep offering one (right after a restore the guest may not be reading its tty yet).
      if (!config.initial_state) return;
      const nudge = setInterval(() => {
        if (!emulator || !firstByte) clearInterval(nudge);
        else emulator.serial0_send("\n");
      }, 50);
    });
    // 9p-read-start/end bracket a file's first read, i.e. its download: report how many
    // and how long the guest waited on them.
    emulator.add_listener("9p-read-start", () => {
      if (ninep.active++ === 0) ninep.since = now();
      ninep.files++;
      const t = now();
      if (t - ninep.lastReport > 100) {
        ninep.lastReport = t;
        send({ type: "9p", active: ninep.active, files: ninep.files, waited_ms: ninep.waited });
      }
    });
    emulator.add_listener("9p-read-end", () => {
      if (--ninep.active === 0) ninep.waited += now() - ninep.since;
    });
    // Bytes are batched and decoded once per batch (see BULK_BATCH_MS).
    emulator.add_listener("serial0-output-byte", (byte) => {
      if (firstByte) {
        firstByte = false;
        setStatus("Running");
        send({ type: "milestone", name: "first-output" });
        // Restored at its prompt and running again (it answered the nudge): give it today's clock.
        if (config.initial_state) freshen(booted);
      }
      outBytes.push(byte);
      if (!flushTimer) flushTimer = setTimeout(flushSerial, lastBatch >= BULK_BYTES ? BULK_BATCH_MS : QUICK_BATCH_MS);
    });
  },

  stop() {
    if (!emulator) return;
    const old = emulator;
    emulator = null;
    old.destroy();
    flushSerial();
    setStatus("Stopped");  // Python knows: it asked (an event here would race a following boot)
  },

  // Save the machine state and hand it to the studio in base64 pieces of `piece` bytes (it keeps
  // it compressed).
  async saveState(request, piece) {
    if (!emulator || !bridge) return;
    sendState(request, piece, new Uint8Array(await emulator.save_state()));
  },

  // Write files into the running machine's 9p filesystem (making folders as needed).
  // items: [{path, kind: "file"|"dir", mode, data: base64}]. Reports which paths existed before:
  // the guest may hold those in its page cache.
  inject(request, items) {
    return reply("injected", request, async () => {
      const fs = emulator.fs9p;
      const existed = [];
      for (const item of items) {
        const parts = item.path.split("/").filter(Boolean);
        let dir = "";
        for (const part of (item.kind === "dir" ? parts : parts.slice(0, -1))) {
          dir += "/" + part;
          const found = fs.SearchPath(dir);
          if (found.id === -1) fs.CreateDirectory(part, found.parentid);
        }
        const id = fs.SearchPath(item.path).id;
        if (item.kind === "dir") { fs.GetInode(id).mode = 0x4000 | item.mode; continue; }
        if (id !== -1) existed.push(item.path);
        await emulator.create_file(item.path, fromBase64(item.data));
        fs.GetInode(fs.SearchPath(item.path).id).mode = 0x8000 | item.mode;
      }
      return { count: items.length, existed };
    });
  },

  // Read a file or a folder (recursively) from the running machine's filesystem: folders, regular
  // files and symlinks (device nodes, FIFOs and sockets are left out). With `changedOnly`, a file
  // still as the build served it (v86 keeps such a file "on the server", status 2, until it is
  // written) comes without its data, marked unchanged.
  pull(request, path, changedOnly) {
    return reply("pulled", request, async () => {
      const fs = emulator.fs9p;
      const items = [];
      const walk = async (p) => {
        const found = fs.SearchPath(p);
        if (found.id === -1) return;
        const inode = fs.GetInode(found.id);
        const type = inode.mode & 0xF000;
        const kind = { 0x4000: "dir", 0xA000: "symlink", 0x8000: "file" }[type];
        if (!kind) return;
        const item = { path: p, kind, mode: inode.mode & 0xFFF, target: inode.symlink || "",
                       uid: inode.uid, gid: inode.gid };
        if (kind === "file" && changedOnly && inode.status === 2) { item.unchanged = true; item.blob = inode.sha256sum; }
        // v86's read_file() says "not found" for an empty file.
        else if (kind === "file") item.data = inode.size ? toBase64(new Uint8Array(await emulator.read_file(p))) : "";
        items.push(item);
        if (kind === "dir") for (const name of fs.read_dir(p) || []) await walk(p.replace(/\/$/, "") + "/" + name);
      };
      await walk(path);
      return { path, items };
    });
  },

  // Type text into the guest's serial console, as if from the keyboard.
  type(text) { if (emulator) emulator.serial0_send(text); },

  focus() { term.focus(); },
  paste(text) { term.paste(text); },
  selection() { return term.getSelection(); },
  selectAll() { term.selectAll(); },
  size() { return { cols: term.cols, rows: term.rows, fontSize: term.options.fontSize }; },
  // The terminal's own screen and scrollback, not the guest's: the line the cursor is on stays.
  clear() { term.clear(); },
  // Find `text` in the scrollback from the current match on (selected and scrolled into view).
  find(text, backwards, caseSensitive) {
    const options = { caseSensitive: !!caseSensitive };
    return backwards ? search.findPrevious(text, options) : search.findNext(text, options);
  },
  setFontSize(size) {
    term.options.fontSize = size;
    fit.fit();
    return this.size();
  },
  stats() { return { files: ninep.files, waited_ms: ninep.waited }; },
  terminalText() {
    const buffer = term.buffer.active;
    const lines = [];
    for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
    return lines.join("\n");
  },
};

// In the studio, Python drives the page through a QWebChannel; standalone (the exported bundle)
// the page boots build/boot.json by itself.
if (embedded) {
  const script = document.createElement("script");
  script.src = "qwebchannel.js";
  script.onload = () => new QWebChannel(qt.webChannelTransport, (channel) => {
    bridge = channel.objects.bridge;
    bridge.event(JSON.stringify({ type: "page-ready", t: 0 }));
  });
  document.head.appendChild(script);
} else {
  fetch("build/boot.json").then((r) => r.json()).then((config) => studio.boot(config));
}
