"""The ZeroGPU decorator: a no-op without the `spaces` package, spaces.GPU(duration) with it."""

import sys
import types

from demo.gpu import on_gpu


def test_without_spaces_the_function_is_unchanged(monkeypatch):
    monkeypatch.setitem(sys.modules, "spaces", None)  # makes `import spaces` raise ImportError

    def work(x):
        return x + 1

    assert on_gpu(30)(work) is work


def test_with_spaces_it_asks_for_a_gpu_for_the_duration(monkeypatch):
    asked = []
    fake = types.ModuleType("spaces")

    def gpu(duration):
        asked.append(duration)
        return lambda fn: (lambda *a: ("on gpu", fn(*a)))

    fake.GPU = gpu
    monkeypatch.setitem(sys.modules, "spaces", fake)
    assert on_gpu(45)(lambda x: x * 2)(3) == ("on gpu", 6)
    assert asked == [45]
