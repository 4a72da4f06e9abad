"""VeRA's shared projections as PEFT makes them, for the fixture scripts (one copy; written from PEFT's description).

PEFT seeds a CPU torch.Generator with projection_prng_key and fills vera_A [r, max_in], then vera_B [max_out, r], each
uniform in ±bound with bound = sqrt(3) * sqrt(2) / sqrt(fan_in) (kaiming-uniform with gain sqrt(2)), fan_in = the
tensor's second dimension.
"""
import math

import numpy as np
import torch


def kaiming(shape, generator):
    fan_in = shape[1]
    bound = math.sqrt(3.0) * (math.sqrt(2) / math.sqrt(fan_in))
    return torch.empty(shape).uniform_(-bound, bound, generator=generator)


def projections(seed, r, max_in, max_out):
    g = torch.Generator(device="cpu").manual_seed(seed)
    a = kaiming((r, max_in), g)
    b = kaiming((max_out, r), g)
    return a, b


def np32(t):
    return t.detach().numpy().astype(np.float32)
