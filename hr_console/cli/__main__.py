"""``python -m hr_console.cli``: how ``relais up`` starts its kiosks and tests start commands."""

from hr_console.cli import main

main()
