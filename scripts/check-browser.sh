#!/usr/bin/env bash
# Says plainly whether the browser journeys will run, before the suite starts.
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  echo "Chromium trouvé : les parcours navigateur (tests/e2e) seront exécutés."
else
  echo "ATTENTION : Chromium est absent, les parcours navigateur (tests/e2e) seront IGNORÉS."
  echo "  Pour les exécuter : sudo apt-get install chromium chromium-driver"
fi
