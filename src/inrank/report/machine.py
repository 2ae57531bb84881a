"""Which machine a result came from: a dict for result files and one line for reports."""
from __future__ import annotations

import os
import platform

import torch

__all__ = ["machine", "machine_line"]


def machine() -> dict:
    """CPU model, core count, torch threads and version, Python, and the GPU when there is one."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def machine_line(info: dict | None = None) -> str:
    """One Markdown line naming the machine (default: this one)."""
    info = info or machine()
    gpu = f", GPU {info['gpu']}" if info.get("gpu") else ", no GPU"
    return (f"Machine: {info['cpu']}, {info['cores']} cores ({info['torch_threads']} torch "
            f"threads){gpu}; torch {info['torch']}, Python {info.get('python', '?')}.")
