import pytest
import torch

from spintronic.models import DomainWallParams, domain_wall

PRM = DomainWallParams()


def test_switch_probability_limits_and_centre():
    p = domain_wall.switch_probability(torch.tensor([-100.0, PRM.x0, 100.0]), PRM)
    assert p.tolist() == pytest.approx([1 - PRM.a, 1 - PRM.a / 2, 1.0])


def test_sampled_reads_follow_binomial_mean_and_variance():
    gen = torch.Generator().manual_seed(0)
    w = torch.full((20000,), 4.9)
    x = torch.ones(20000)
    reads = domain_wall.sample_reads(x, w, 10, PRM, gen)
    p = float(domain_wall.switch_probability(torch.tensor(4.9), PRM))
    assert float(reads.mean()) == pytest.approx(p, abs=4 * (p * (1 - p) / 10 / 20000) ** 0.5)
    assert float(reads.var()) == pytest.approx(p * (1 - p) / 10, rel=0.05)
    # a zero input never switches
    assert float(domain_wall.sample_reads(torch.zeros(5), w[:5], 10, PRM, gen).sum()) == 0.0


def test_stochastic_preactivation_forward_is_sample_backward_is_mean_and_spread():
    torch.manual_seed(1)
    x = (torch.rand(8, 30) > 0.5).float()
    w = (torch.randn(4, 30) * 2 + 4).requires_grad_()
    gen = torch.Generator().manual_seed(3)
    out = domain_wall.stochastic_preactivation(x, w, 16, PRM, gen)
    gen = torch.Generator().manual_seed(3)
    sample = domain_wall.sample_reads(x[:, None, :], w[None].detach(), 16, PRM, gen).sum(-1)
    assert torch.allclose(out, sample, atol=1e-5)
    out.sum().backward()
    grad_sampled = w.grad.clone()
    # the gradient equals that of mu + eps sigma with eps fixed
    w.grad = None
    prob = domain_wall.switch_probability(w, PRM)
    mu = x @ prob.T
    sigma = torch.sqrt((x @ (prob * (1 - prob)).T) / 16)
    eps = ((sample - mu) / sigma).detach()
    (mu + eps * sigma).sum().backward()
    assert torch.allclose(grad_sampled, w.grad, rtol=1e-4, atol=1e-6)


def test_conductance_and_bad_input():
    g = domain_wall.conductance(torch.tensor([-1.0, 0.0, 0.5, 1.0, 2.0]), PRM)
    mid = PRM.G_AP + 0.5 * (PRM.G_P - PRM.G_AP)
    assert g.tolist() == pytest.approx([PRM.G_AP, PRM.G_AP, mid, PRM.G_P, PRM.G_P])
    with pytest.raises(ValueError, match="n_reads"):
        domain_wall.sample_reads(torch.ones(2), torch.ones(2), 0, PRM)
    with pytest.raises(ValueError, match="kind"):
        domain_wall.spice_subckt(PRM, "magnetic")
