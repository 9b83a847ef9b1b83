// The interpreter's console: signalling over the hub's WebSocket
// (broker/signalling.py), WebRTC answering the terminal's offer, ringing,
// real-time text on the "text" data channel, outcome after the call.
// Plain JavaScript, no build step. Screens in Simplified Chinese.
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("console-config").textContent);
  const $ = (id) => document.getElementById(id);
  const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"];

  const state = {
    ws: null,
    status: config.view.status,
    offer: null, // {request_id, deadline}
    call: null, // request id of the connected call
    wrapUp: config.view.wrap_up,
    pc: null,
    channel: null,
    localStream: null,
    closedForGood: false,
    textsIn: [],
    inbox: Promise.resolve(),
  };
  // For tests and support: what the console holds right now.
  window.anxinConsole = state;

  // --- signalling ----------------------------------------------------------------

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/api/v1/interpreting/console/ws`);
    state.ws = ws;
    ws.onopen = () => setLink(true);
    ws.onmessage = (event) => {
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      // One message at a time: the terminal's SDP offer must wait until the
      // camera opened for the call that Connected started.
      state.inbox = state.inbox
        .then(() => handle(msg))
        .catch((err) => showError(`处理消息出错：${err}`));
    };
    ws.onclose = (event) => {
      setLink(false);
      if (event.code === 4409 || event.code === 4401 || event.code === 4403) {
        state.closedForGood = true;
        showError(event.reason || "连接已关闭");
        return;
      }
      // Media is peer-to-peer and goes on; signalling comes back by itself.
      setTimeout(connect, 2000);
    };
  }

  function send(msg) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) {
      state.ws.send(JSON.stringify(msg));
      return true;
    }
    showError("与中心的连接已断开，正在重连……");
    return false;
  }

  async function handle(msg) {
    switch (msg.type) {
      case "offer":
        showOffer(msg);
        break;
      case "connected":
        stopOffer();
        await startCall(msg.request_id);
        break;
      case "sdp":
        if (msg.sdp_type === "offer" && msg.request_id === state.call) await answer(msg);
        break;
      case "hangup":
        addText("系统", msg.reason ? `对方已挂断（${msg.reason}）` : "对方已挂断");
        break;
      case "ended":
        if (state.offer && state.offer.request_id === msg.request_id) {
          stopOffer();
          if (msg.reason) showError(msg.reason);
        }
        if (state.call === msg.request_id) endCall(msg.request_id);
        refresh();
        break;
      case "error":
        showError(msg.reason);
        break;
    }
  }

  // --- status and the queue ----------------------------------------------------------

  function setLink(up) {
    const el = $("link-state");
    el.textContent = up ? "已连接" : "未连接";
    el.className = `badge ${up ? "online" : "offline"}`;
  }

  function showStatus(status) {
    state.status = status;
    const el = $("my-status");
    el.textContent = config.statuses[status] || status;
    el.dataset.status = status;
    for (const b of document.querySelectorAll(".status-btn")) {
      b.classList.toggle("active", b.dataset.status === status);
    }
  }

  for (const button of document.querySelectorAll(".status-btn")) {
    button.addEventListener("click", () => {
      unlockAudio(); // a click is the gesture Chromium wants before it plays sound
      if (send({ type: "status", status: button.dataset.status })) {
        showStatus(button.dataset.status);
        if (state.wrapUp) hideOutcome();
      }
    });
  }

  async function refresh() {
    try {
      const res = await fetch("/api/v1/interpreting/console/state", {
        headers: { "X-CSRF-Token": csrf || "" },
      });
      if (!res.ok) return;
      const view = await res.json();
      showStatus(view.status);
      $("queue-waiting").textContent = view.waiting;
      $("queue-free").textContent = view.free;
      if (view.wrap_up && !state.call && $("outcome-panel").hidden) showOutcome(view.wrap_up);
    } catch {
      /* the next poll tries again */
    }
  }

  // --- an offer: ringing and the countdown --------------------------------------------

  let audio = null;
  let ringTimer = null;
  let countdownTimer = null;

  function unlockAudio() {
    audio = audio || new AudioContext();
    if (audio.state === "suspended") audio.resume();
  }

  function beep() {
    if (!audio) return;
    for (const [freq, at] of [[880, 0], [660, 0.25]]) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(audio.destination);
      osc.start(audio.currentTime + at);
      osc.stop(audio.currentTime + at + 0.2);
    }
  }

  function showOffer(msg) {
    state.offer = { request_id: msg.request_id, deadline: Date.now() + msg.expires_in_s * 1000 };
    $("offer-hall").textContent = msg.hall;
    $("offer-terminal").textContent = msg.terminal;
    $("offer-location").textContent = msg.location || "";
    $("offer-panel").hidden = false;
    $("idle-panel").hidden = true;
    document.title = "【来电】手语翻译工作台";
    beep();
    clearInterval(ringTimer);
    ringTimer = setInterval(beep, 1500);
    const tick = () => {
      const left = Math.max(0, Math.ceil((state.offer.deadline - Date.now()) / 1000));
      $("offer-countdown").textContent = left;
    };
    tick();
    clearInterval(countdownTimer);
    countdownTimer = setInterval(tick, 250);
  }

  function stopOffer() {
    clearInterval(ringTimer);
    clearInterval(countdownTimer);
    state.offer = null;
    $("offer-panel").hidden = true;
    document.title = "手语翻译工作台";
    $("idle-panel").hidden = !!state.call;
  }

  $("accept-btn").addEventListener("click", () => {
    if (state.offer) send({ type: "accept", request_id: state.offer.request_id });
  });
  $("decline-btn").addEventListener("click", () => {
    if (state.offer) send({ type: "decline", request_id: state.offer.request_id });
    stopOffer();
  });

  // --- the call: WebRTC answering the terminal's offer -------------------------------

  async function startCall(requestId) {
    const fresh = state.call !== requestId;
    state.call = requestId;
    hideOutcome();
    $("call-panel").hidden = false;
    $("idle-panel").hidden = true;
    $("call-state").textContent = "正在接通……";
    $("call-state").hidden = false;
    if (fresh) $("text-log").replaceChildren();
    const view = await (await fetch("/api/v1/interpreting/console/state")).json();
    $("call-terminal").textContent = view.call_terminal || "";
    $("call-location").textContent = view.call_location || "";
    $("call-recording").hidden = !view.call_consent_recording;
    if (!state.localStream) {
      try {
        state.localStream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
      } catch (err) {
        showError(`无法打开摄像头或麦克风：${err.message}`);
      }
      $("local-video").srcObject = state.localStream;
    }
  }

  async function answer(msg) {
    closePeer(); // a new offer (the console or the terminal reconnected) replaces the old one
    const pc = new RTCPeerConnection({ iceServers: config.iceServers });
    state.pc = pc;
    if (state.localStream) {
      for (const track of state.localStream.getTracks()) pc.addTrack(track, state.localStream);
    }
    pc.ontrack = (event) => {
      const video = $("remote-video");
      if (!video.srcObject) video.srcObject = new MediaStream();
      video.srcObject.addTrack(event.track);
      $("call-state").hidden = true;
    };
    pc.ondatachannel = (event) => {
      if (event.channel.label !== "text") return;
      state.channel = event.channel;
      event.channel.onmessage = (e) => {
        const text = typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data);
        state.textsIn.push(text);
        addText("市民", text);
      };
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed") $("call-state").textContent = "媒体连接失败";
    };
    await pc.setRemoteDescription({ type: "offer", sdp: msg.sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await iceGathered(pc);
    if (state.pc !== pc) return; // replaced meanwhile
    send({ type: "sdp", request_id: msg.request_id, sdp_type: "answer", sdp: pc.localDescription.sdp });
  }

  function iceGathered(pc) {
    // No trickle ICE in our signalling: the answer carries every candidate.
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        if (pc.iceGatheringState === "complete") {
          pc.removeEventListener("icegatheringstatechange", done);
          resolve();
        }
      };
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 5000); // a slow STUN server must not hold the call
    });
  }

  function closePeer() {
    if (state.channel) state.channel.close();
    if (state.pc) state.pc.close();
    state.channel = null;
    state.pc = null;
    const video = $("remote-video");
    if (video.srcObject) for (const t of video.srcObject.getTracks()) t.stop();
    video.srcObject = null;
  }

  function endCall(requestId) {
    closePeer();
    if (state.localStream) for (const t of state.localStream.getTracks()) t.stop();
    state.localStream = null;
    $("local-video").srcObject = null;
    state.call = null;
    $("call-panel").hidden = true;
    showOutcome(requestId);
  }

  $("hangup-btn").addEventListener("click", () => {
    if (state.call) send({ type: "hangup", request_id: state.call });
  });

  $("text-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("text-input");
    const text = input.value.trim();
    if (!text) return;
    if (!state.channel || state.channel.readyState !== "open") {
      showError("文字通道尚未建立");
      return;
    }
    state.channel.send(text);
    addText("我", text);
    input.value = "";
  });

  function addText(who, text) {
    const line = document.createElement("p");
    line.className = `text-line from-${who === "我" ? "me" : who === "市民" ? "citizen" : "system"}`;
    const name = document.createElement("strong");
    name.textContent = `${who}：`;
    line.append(name, document.createTextNode(text));
    $("text-log").append(line);
    $("text-log").scrollTop = $("text-log").scrollHeight;
  }

  // --- after the call ----------------------------------------------------------------

  function showOutcome(requestId) {
    state.wrapUp = requestId;
    $("outcome-panel").hidden = false;
    $("idle-panel").hidden = true;
  }

  function hideOutcome() {
    state.wrapUp = null;
    $("outcome-panel").hidden = true;
    $("idle-panel").hidden = !!state.call;
  }

  $("outcome-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!state.wrapUp) return;
    const note = $("outcome-note").value.trim();
    const sent = send({
      type: "outcome",
      request_id: state.wrapUp,
      outcome: $("outcome-code").value,
      note: note || null,
    });
    if (sent) {
      $("outcome-note").value = "";
      hideOutcome();
      setTimeout(refresh, 300);
    }
  });

  function showError(text) {
    const el = $("console-error");
    el.textContent = text;
    el.hidden = false;
    clearTimeout(showError.timer);
    showError.timer = setTimeout(() => (el.hidden = true), 8000);
  }

  showStatus(state.status);
  if (state.wrapUp) showOutcome(state.wrapUp);
  connect();
  setInterval(refresh, 2000);
})();
