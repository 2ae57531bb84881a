"""Describe the machine a benchmark ran on (for the results files)."""
from __future__ import annotations

import os
import platform

import torch


def machine() -> dict:
    """CPU model, core count, torch version and the GPU if one is used."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def machine_line(info: dict | None = None) -> str:
    """One Markdown line naming the machine."""
    info = info or machine()
    gpu = f", GPU {info['gpu']}" if "gpu" in info else ", no GPU"
    return (f"Machine: {info['cpu']}, {info['cores']} cores ({info['torch_threads']} torch threads)"
            f"{gpu}; torch {info['torch']}, Python {info['python']}.")
