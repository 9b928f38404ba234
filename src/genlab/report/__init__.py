"""The comparison report: tables of every model and the real data (:mod:`.tables`), sections chosen by what the
results hold (:mod:`.sections`), the page (:mod:`.page`) and its self-contained HTML (:mod:`.html`)."""
