"""GPU utilisation where a GPU is present: a worker on a GPU node samples `nvidia-smi` every few
seconds into Prometheus gauges. Where there is no nvidia-smi (CPU nodes, laptops) nothing runs
and nothing is exported."""

import asyncio
import logging
import shutil

from framelane_core import metrics

log = logging.getLogger(__name__)
QUERY = ["--query-gpu=index,utilization.gpu,memory.used", "--format=csv,noheader,nounits"]


def parse(text: str) -> list[tuple[str, float, float]]:
    """(gpu index, busy fraction, memory bytes) per line of nvidia-smi's CSV answer."""
    samples = []
    for line in text.strip().splitlines():
        index, util, mem_mib = (part.strip() for part in line.split(","))
        samples.append((index, float(util) / 100, float(mem_mib) * 1024 * 1024))
    return samples


class GpuSampler:
    """Background runner; see samplers()."""

    def __init__(self, binary: str, interval: float = 5.0):
        self.binary, self.interval = binary, interval
        self._stopping = asyncio.Event()

    async def sample_once(self) -> None:
        proc = await asyncio.create_subprocess_exec(self.binary, *QUERY, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.DEVNULL)
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=10)
        for index, util, memory in parse(out.decode()):
            metrics.GPU_UTILIZATION.labels(index).set(util)
            metrics.GPU_MEMORY_USED.labels(index).set(memory)

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.sample_once()
            except (OSError, ValueError, TimeoutError):
                log.warning("nvidia-smi sampling failed", exc_info=True)
            try:
                await asyncio.wait_for(self._stopping.wait(), self.interval)
            except TimeoutError:
                pass

    def stop(self) -> None:
        self._stopping.set()


def samplers() -> list[GpuSampler]:
    """A sampler when this node has nvidia-smi, else none."""
    binary = shutil.which("nvidia-smi")
    return [GpuSampler(binary)] if binary else []
