"""GPU sampling reads nvidia-smi where it exists (a stand-in binary here) and nothing otherwise."""

import os
import stat

from framelane_core import gpu, metrics


async def test_sampler_reads_nvidia_smi_into_gauges(tmp_path, monkeypatch):
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho '0, 37, 1024'\necho '1, 100, 2048'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    (sampler,) = gpu.samplers()
    await sampler.sample_once()
    assert metrics.GPU_UTILIZATION.labels("0")._value.get() == 0.37
    assert metrics.GPU_MEMORY_USED.labels("1")._value.get() == 2048 * 1024 * 1024


def test_no_sampler_without_nvidia_smi(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert gpu.samplers() == []
