"""The report's inline CSS (the page loads nothing else)."""

CSS = """
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--panel:#f6f8fa;--accent:#3b6fb6;--bad:#c62828;
--good:#1a7f37;--judge:#7c4dcc}
*{box-sizing:border-box}
body{margin:0;color:var(--fg);background:#fff;font-size:14px;line-height:1.5;
font-family:system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Sans Arabic","Noto Naskh Arabic",
"Noto Sans Thai","Noto Sans CJK KR","Noto Sans KR","Apple SD Gothic Neo","Malgun Gothic",
"Leelawadee UI",Tahoma,"DejaVu Sans",Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:28px 32px 64px}
h1{font-size:24px;margin:0 0 16px}
h2{font-size:20px;margin:40px 0 4px;padding-bottom:6px;border-bottom:2px solid var(--line)}
h3{font-size:15px;margin:28px 0 8px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
code{font-family:ui-monospace,"SFMono-Regular","DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
a{color:var(--accent)}
.muted{color:var(--muted);font-weight:normal}
.note{color:var(--muted);font-size:12.5px;margin:6px 0}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:6px 18px;margin:0 0 12px;padding:14px 18px;
background:var(--panel);border:1px solid var(--line);border-radius:8px}
.meta dt{color:var(--muted)}
.meta dd{margin:0}
nav{margin:8px 0}
.chip{display:inline-block;padding:0 8px;margin:1px 0;border-radius:999px;background:#fff;
border:1px solid var(--line);font-size:12px;white-space:nowrap}
.badge{display:inline-block;padding:0 8px;border-radius:999px;font-size:12px;font-weight:600;color:#fff}
.badge.ok{background:var(--good)}
.badge.bad{background:var(--bad)}
.badge.warn{background:#9a6700}
table.reliability{border-collapse:collapse;margin:4px 0 10px;font-size:13px}
table.reliability th,table.reliability td{padding:3px 8px;border-bottom:1px solid #e3e7eb;text-align:right}
table.reliability th:first-child{text-align:left;font-weight:normal}
td.alpha.ok{background:#dafbe1}td.alpha.warn{background:#fff8c5}td.alpha.bad{background:#ffebe9}
table.heat{border-collapse:separate;border-spacing:3px;margin:4px 0}
table.heat th{font-weight:600;text-align:center;padding:4px 8px}
table.heat th.lang{text-align:left;white-space:nowrap;font-weight:normal}
table.heat td.cell{min-width:96px;padding:7px 10px;text-align:center;border-radius:5px;
font-variant-numeric:tabular-nums;font-weight:600}
table.heat td.cell small{display:block;font-weight:normal;font-size:11px;opacity:.85}
table.heat td.missing{background:repeating-linear-gradient(45deg,#eceff2,#eceff2 5px,#e3e7eb 5px,#e3e7eb 10px);
color:#8b949e;cursor:help}
table.heat tr.macro th{padding-top:10px}
table.heat td.macro{background:#fff;color:var(--fg);border:1px solid var(--line)}
table.heat td.count{color:var(--muted);font-size:12px;text-align:center;padding:0 8px;white-space:nowrap}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:12px 20px}
figure.chart svg{max-width:100%;height:auto}
figure.chart{margin:0;padding:10px 12px;border:1px solid var(--line);border-radius:8px}
figure.chart figcaption{font-weight:600;margin-bottom:2px}
svg text{font-size:12px;fill:var(--fg)}
svg .tick{fill:var(--muted);font-size:10.5px}
svg .grid{stroke:#eaeef2}
svg .axis{stroke:#8c959f}
svg .bar{fill:var(--accent);opacity:.85}
svg .bar.macro{fill:#1f2328;opacity:.75}
svg .sep{stroke:var(--line);stroke-dasharray:3 3}
svg .ci{stroke:var(--fg);stroke-width:1.4;fill:none}
svg .lab{font-weight:600}
svg .nobar text.val{fill:var(--muted);font-style:italic}
.card{display:grid;grid-template-columns:120px 1fr;gap:16px;padding:12px;margin:10px 0;
border:1px solid var(--line);border-radius:8px;break-inside:avoid}
.thumb img,.noimg{width:120px;height:120px;object-fit:cover;border-radius:6px;display:block;background:var(--panel)}
.noimg{display:flex;align-items:center;justify-content:center;color:var(--muted);font-size:12px;
border:1px dashed var(--line)}
.card .head{margin-bottom:4px}
.card .rank{font-weight:700;color:var(--bad)}
.card .score{font-weight:600;margin:0 6px}
.label{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);margin-top:6px}
.kw .label{display:inline;margin-right:6px}
.alt{overflow-wrap:anywhere}
.label .chip,.label .badge{text-transform:none;letter-spacing:normal}
.pred{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff8e6;border-radius:4px;padding:4px 8px}
.pred.error{background:#ffebe9;color:var(--bad)}
ol.refs{margin:2px 0;padding-inline-start:22px}
ol.refs li{overflow-wrap:anywhere}
.rationale{white-space:pre-wrap;overflow-wrap:anywhere;border-inline-start:3px solid var(--judge);
padding:2px 10px;background:#f7f3fd}
table.list{border-collapse:collapse;margin:6px 0;font-size:13px}
table.list th,table.list td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:start;vertical-align:top}
table.list td.num{text-align:right;font-variant-numeric:tabular-nums}
table.list td.reason{color:var(--bad);overflow-wrap:anywhere}
details summary{cursor:pointer;color:var(--accent);margin:6px 0}
footer{margin-top:48px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:10px}
@media print{main{max-width:none;padding:0}details{display:block}}
"""
