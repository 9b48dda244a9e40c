"""Truth simulators that produce point-cloud showers (SUPA, GFlash-style)."""
