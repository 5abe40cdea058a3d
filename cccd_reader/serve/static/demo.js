// Demo page of `cccd-read serve`: plain JavaScript, no build step. Every value from the card is put on the
// page with textContent (never as HTML). Works from the service itself or from another allowed origin
// (then pass ?service=http://127.0.0.1:8731).
"use strict";

const STEPS = ["probe", "card_access", "access", "files", "chip_auth", "active_auth", "passive_auth", "qr_check"];

const TEXT = {
  vi: {
    title: "Đọc căn cước gắn chip", language: "Ngôn ngữ", service: "Dịch vụ", token: "Mã truy cập",
    key_label: "CAN (6 số cuối của số định danh) hoặc quét mã QR", portrait: "Ảnh chân dung", read: "Đọc thẻ",
    f_id_number: "Số định danh", f_full_name: "Họ và tên", f_date_of_birth: "Ngày sinh", f_sex: "Giới tính",
    f_place_of_origin: "Quê quán", f_place_of_residence: "Nơi thường trú", f_expiry_date: "Có giá trị đến",
    no_expiry: "Không thời hạn", sex_m: "Nam", sex_f: "Nữ",
    s_connecting: "Đang kết nối dịch vụ…", s_down: "Không kết nối được dịch vụ đọc thẻ",
    s_no_reader: "Chưa có đầu đọc thẻ", s_place: "Đặt thẻ lên đầu đọc", s_ready: "Thẻ đã sẵn sàng",
    s_busy: "Đầu đọc đang bận",
    step_probe: "Kiểm tra thẻ", step_card_access: "Đọc EF.CardAccess", step_access: "Xác thực truy cập (PACE/BAC)",
    step_files: "Đọc dữ liệu", step_chip_auth: "Xác thực chip", step_active_auth: "Xác thực chủ động",
    step_passive_auth: "Kiểm tra chữ ký số", step_qr_check: "So khớp mã QR", step_done: "Xong",
    v_genuine: "Thẻ thật: dữ liệu trên chip đã được xác thực",
    "v_not-genuine": "KHÔNG xác thực được: thẻ có thể bị làm giả",
    v_mismatch: "Mã QR không khớp với dữ liệu trên chip",
    v_unverified: "Chưa xác thực được (thiếu chứng thư gốc tin cậy)",
    v_incomplete: "Chưa đọc đủ: một bước hoặc một tệp chưa đọc được đến cuối, hãy đọc lại thẻ",
    e_key: "Nhập CAN (6 chữ số), số định danh 12 số, hoặc quét mã QR trên thẻ",
    e_network: "Không gọi được dịch vụ (trang này có được phép không?)",
    e_busy: "Đầu đọc đang bận với một lần đọc khác", e_rate_limited: "Sai mã quá nhiều lần: hãy chờ hoặc nhấc thẻ ra rồi đặt lại",
    e_access_denied: "Thẻ từ chối mã truy cập: kiểm tra lại CAN", e_no_card: "Không thấy thẻ trên đầu đọc",
    e_no_reader: "Không có đầu đọc thẻ", e_card_removed: "Thẻ bị nhấc ra trong khi đọc: giữ yên thẻ và đọc lại",
    e_bad_input: "Dữ liệu nhập không hợp lệ", e_forbidden_origin: "Trang này không được phép dùng đầu đọc",
    e_unauthorized: "Sai hoặc thiếu mã truy cập", e_card_error: "Lỗi khi đọc thẻ"
  },
  en: {
    title: "Chip ID card reader", language: "Language", service: "Service", token: "Access token",
    key_label: "CAN (last 6 digits of the ID number) or scan the QR code", portrait: "Portrait", read: "Read card",
    f_id_number: "ID number", f_full_name: "Full name", f_date_of_birth: "Date of birth", f_sex: "Sex",
    f_place_of_origin: "Place of origin", f_place_of_residence: "Place of residence", f_expiry_date: "Valid until",
    no_expiry: "No expiry", sex_m: "Male", sex_f: "Female",
    s_connecting: "Connecting to the service…", s_down: "Cannot reach the card reader service",
    s_no_reader: "No card reader connected", s_place: "Place the card on the reader", s_ready: "Card ready",
    s_busy: "The reader is busy",
    step_probe: "Checking the card", step_card_access: "Reading EF.CardAccess", step_access: "Opening the chip (PACE/BAC)",
    step_files: "Reading the data", step_chip_auth: "Chip Authentication", step_active_auth: "Active Authentication",
    step_passive_auth: "Checking the digital signature", step_qr_check: "Comparing with the QR code", step_done: "Done",
    v_genuine: "Genuine: the chip's data is authentic",
    "v_not-genuine": "NOT genuine: the card may be forged",
    v_mismatch: "The QR code does not match the chip",
    v_unverified: "Not verified (no trusted certificate for this card)",
    v_incomplete: "Incomplete: a step or a file could not be read to the end; read the card again",
    e_key: "Type the CAN (6 digits) or the 12-digit ID number, or scan the card's QR code",
    e_network: "Cannot call the service (is this page allowed?)",
    e_busy: "The reader is busy with another read", e_rate_limited: "Too many wrong keys: wait, or lift the card and put it back",
    e_access_denied: "The card refused the key: check the CAN", e_no_card: "No card on the reader",
    e_no_reader: "No card reader", e_card_removed: "The card was lifted during the read: hold it still and read again",
    e_bad_input: "The input is not valid", e_forbidden_origin: "This page is not allowed to use the reader",
    e_unauthorized: "Wrong or missing access token", e_card_error: "The card could not be read"
  }
};

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let lang = params.get("lang") || (navigator.language || "vi").slice(0, 2);
if (!TEXT[lang]) lang = "vi";
let statusKey = "s_connecting";
let socket = null;
let lastRecord = null;
// True from this page's read request until its answer: the event stream may deliver a read's progress
// after the HTTP answer, and a late event must not move a finished read's bar back or reload its portrait.
let reading = false;

function t(key) { return (TEXT[lang] && TEXT[lang][key]) || TEXT.en[key] || key; }

function applyLanguage() {
  document.documentElement.lang = lang;
  $("lang").value = lang;
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  setStatus(statusKey, $("status").dataset.state);
  if (lastRecord) showRecord(lastRecord, true);
}

function serviceBase() {
  const value = $("service").value.trim().replace(/\/+$/, "");
  return value || location.origin;
}

function headers(json) {
  const h = {};
  if (json) h["Content-Type"] = "application/json";
  const token = $("token").value;
  if (token) h["Authorization"] = "Bearer " + token;
  return h;
}

function setStatus(key, state) {
  statusKey = key;
  const el = $("status");
  el.textContent = t(key);
  el.dataset.state = state || "unknown";
}

function showError(code, message) {
  const el = $("error");
  el.hidden = false;
  el.dataset.code = code;
  el.textContent = t("e_" + code) + (message ? " (" + message + ")" : "");
}

function clearError() { const el = $("error"); el.hidden = true; el.textContent = ""; el.dataset.code = ""; }

function renderStatus(status) {
  const readers = status.readers || [];
  if (!readers.length) setStatus("s_no_reader", "down");
  else if (readers.some((r) => r.busy)) setStatus("s_busy", "waiting");
  else if (status.card_present) setStatus("s_ready", "ok");
  else setStatus("s_place", "waiting");
}

async function refreshStatus() {
  try {
    const r = await fetch(serviceBase() + "/v1/status", { headers: headers(false), cache: "no-store" });
    if (!r.ok) { setStatus("s_down", "down"); return; }
    renderStatus(await r.json());
  } catch (e) {
    setStatus("s_down", "down");
  }
}

function connectEvents() {
  if (socket) { socket.onclose = null; socket.close(); }
  const base = serviceBase().replace(/^http/, "ws");
  const token = $("token").value;
  try {
    socket = new WebSocket(base + "/v1/events" + (token ? "?token=" + encodeURIComponent(token) : ""));
  } catch (e) {
    setStatus("s_down", "down");
    return;
  }
  socket.onmessage = (msg) => {
    const ev = JSON.parse(msg.data);
    if (ev.type === "hello") renderStatus(ev.status);
    else if (["reader_added", "reader_removed", "card_placed", "card_removed"].includes(ev.type)) refreshStatus();
    else if (ev.type === "read_started") { if (reading) { $("progress").value = 0; clearError(); } }
    else if (ev.type === "progress") { if (reading) showProgress(ev); }
    else if (ev.type === "record") { showRecord(ev.record); refreshStatus(); }
    else if (ev.type === "error") refreshStatus();
  };
  socket.onclose = () => { setTimeout(connectEvents, 2000); };
}

function showProgress(ev) {
  const i = STEPS.indexOf(ev.step);
  if (i < 0) return;
  if (ev.event === "done") $("progress").value = Math.max($("progress").value, i + 1);
  if (ev.event === "start") $("step").textContent = t("step_" + ev.step) + "…";
  if (ev.event === "bytes" && ev.file && ev.total) {
    $("step").textContent = t("step_files") + " " + ev.file + " " + Math.round(100 * ev.done / ev.total) + "%";
  }
}

function keyBody(text) {
  const value = text.trim();
  if (/^\d{6}$/.test(value) || /^\d{12}$/.test(value)) return { can: value };
  if (value.includes("|")) return { qr: value };
  if (value.includes("<")) return { mrz: value };
  return null;
}

function fmtDate(value) {
  if (!value) return "";
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  return m ? m[3] + "/" + m[2] + "/" + m[1] : String(value);
}

function showRecord(record, relabel = false) {
  // the same record from the HTTP answer and the event stream: shown once (no portrait reload)
  if (!relabel && lastRecord && JSON.stringify(lastRecord) === JSON.stringify(record)) return;
  lastRecord = record;
  const id = record.identity || {};
  $("result").hidden = false;
  $("id_number").textContent = id.id_number || "";
  $("name").textContent = id.full_name || "";
  $("date_of_birth").textContent = fmtDate(id.date_of_birth);
  const sexWord = { M: t("sex_m"), F: t("sex_f") }[id.sex];
  $("sex").textContent = (lang === "vi" ? id.sex_text || sexWord : sexWord || id.sex_text) || id.sex || "";
  $("place_of_origin").textContent = id.place_of_origin || "";
  $("place_of_residence").textContent = id.place_of_residence || "";
  $("expiry_date").textContent = id.expiry_date ? fmtDate(id.expiry_date) : (id.no_expiry ? t("no_expiry") : "");
  const verdict = (record.security && record.security.verdict) || "unverified";
  $("verdict").dataset.verdict = verdict;
  $("verdict").textContent = t("v_" + verdict);
  const p = record.portrait;
  const img = $("portrait");
  if (p && p.image_base64 && /^image\/(jpeg|jp2|png)$/.test(p.mime_type || "")) {
    img.src = "data:" + p.mime_type + ";base64," + p.image_base64;
    img.hidden = false;
  } else {
    img.removeAttribute("src");
    img.hidden = true;
  }
  $("progress").value = STEPS.length;
  $("step").textContent = t("step_done");
}

async function readCard() {
  clearError();
  const body = keyBody($("key").value);
  if (!body) { showError("key", ""); return; }
  body.portrait = $("want-portrait").checked;
  body.wait = 30;
  $("read").disabled = true;
  $("progress").value = 0;
  reading = true;
  try {
    const r = await fetch(serviceBase() + "/v1/read", { method: "POST", headers: headers(true), body: JSON.stringify(body) });
    const data = await r.json();
    if (r.ok) showRecord(data.record);
    else showError((data.error && data.error.code) || "card_error", data.error && data.error.message);
  } catch (e) {
    showError("network", "");
  } finally {
    reading = false;
    $("key").value = "";  // the CAN or the QR text is not kept on the page
    $("read").disabled = false;
    refreshStatus();
  }
}

function start() {
  $("service").value = params.get("service") || location.origin;
  $("token").value = sessionStorage.getItem("cccd-token") || "";
  $("lang").addEventListener("change", () => { lang = $("lang").value; applyLanguage(); });
  $("read").addEventListener("click", readCard);
  $("key").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); readCard(); } });
  $("service").addEventListener("change", () => { refreshStatus(); connectEvents(); });
  $("token").addEventListener("change", () => {
    sessionStorage.setItem("cccd-token", $("token").value);
    refreshStatus(); connectEvents();
  });
  applyLanguage();
  refreshStatus();
  connectEvents();
}

start();
