// The works council report's printable version: its Print button (no inline script: CSP).
document.getElementById("council-print-now")?.addEventListener("click", () => window.print());
