"""An independent implementation of NoLA's basis generator "loragen-xoshiro128ss-v1" (docs/nola-format.md), written
from that page, to pin the values tests/LoraGen.Runtime.Tests/Variants/NolaTests.cs checks. Standard library + numpy.

Run:  /usr/bin/python3 tools/nola_bases_reference.py [seed] [path] [k_A] [k_B] [r] [in] [out]
Prints the layer seed and the first values of the A and B bases.
"""
import sys

import numpy as np

M64, M32 = (1 << 64) - 1, (1 << 32) - 1


def layer_seed(seed, path):
    h = 14695981039346656037                       # FNV-1a 64 over the UTF-8 bytes of the module path
    for b in path.encode("utf-8"):
        h = ((h ^ b) * 1099511628211) & M64
    return (seed ^ h) & M64


def splitmix64(z):
    z = (z + 0x9E3779B97F4A7C15) & M64
    x = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return z, x ^ (x >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & M32


class Xoshiro128ss:
    def __init__(self, seed):
        z, a = splitmix64(seed)
        z, b = splitmix64(z)
        self.s = [a & M32, a >> 32, b & M32, b >> 32]
        if not any(self.s):
            self.s[0] = 1

    def next32(self):
        s0, s1, s2, s3 = self.s
        result = (rotl((s1 * 5) & M32, 7) * 9) & M32
        t = (s1 << 9) & M32
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 11)
        self.s = [s0, s1, s2, s3]
        return result


def uniform(gen, n, low, high):
    f = np.float32
    low, high = f(low), f(high)
    width = f(high - low)
    return np.array([f(low + f(width * f(f(gen.next32() >> 8) * f(1.0 / 16777216.0)))) for _ in range(n)], dtype=np.float32)


def bases(seed, path, ka, kb, r, d_in, d_out):
    gen = Xoshiro128ss(layer_seed(seed, path))
    ba = np.float32(1) / np.sqrt(np.float32(d_in))
    bb = np.float32(1) / np.sqrt(np.float32(r))
    a = uniform(gen, ka * r * d_in, -ba, ba).reshape(ka, r * d_in)
    b = uniform(gen, kb * d_out * r, -bb, bb).reshape(kb, d_out * r)
    return a, b


if __name__ == "__main__":
    args = sys.argv[1:] or ["42", "h.0.attn.c_attn", "2", "2", "4", "8", "6"]
    seed, path, ka, kb, r, d_in, d_out = int(args[0]), args[1], *map(int, args[2:])
    a, b = bases(seed, path, ka, kb, r, d_in, d_out)
    print(f"layer seed 0x{layer_seed(seed, path):016X}")
    print("A[0,0] A[0,1] A[-1,-1]:", repr(a.flat[0]), repr(a.flat[1]), repr(a.flat[-1]))
    print("B[0,0] B[0,1] B[-1,-1]:", repr(b.flat[0]), repr(b.flat[1]), repr(b.flat[-1]))
