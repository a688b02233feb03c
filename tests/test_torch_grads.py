"""methods.torch_grads: per-sample gradients of a torch model against the workbench's own compiled
per-sample gradients (softmax regression, same weights) to 1e-12, against a plain autograd loop on a
small MLP, and the minibatch-noise draws' covariance c(n, B) Cov_i g_i (4 s.e.)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from methods import diagnostics as D, finite_sum as F, landscapes as L, torch_grads as TG  # noqa: E402


def test_softmax_regression_matches_the_compiled_per_sample_gradients():
    data = F.load("iris", seed=0)
    f = L.SoftmaxRegression.from_dataset(data, reg=0.0)
    K, m = 3, data.X.shape[1]
    x = np.random.default_rng(0).normal(size=f.d) * 0.3
    W = x.reshape(K, m + 1)  # rows w_k over [features, 1]
    lin = torch.nn.Linear(m, K).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(W[:, :m]))
        lin.bias.copy_(torch.tensor(W[:, m]))
    labels = np.searchsorted(np.unique(data.y), data.y)
    G = TG.per_sample_gradients(lin, torch.nn.functional.cross_entropy, data.X, labels, chunk=37)
    ours = f.sample_gradients(x)  # (n, K (m + 1)), row k: [d/dw_k (m), d/db_k]
    ours = ours.reshape(-1, K, m + 1)
    mapped = np.concatenate([ours[:, :, :m].reshape(-1, K * m), ours[:, :, m]], axis=1)  # torch order: weight, bias
    assert G.shape == mapped.shape
    assert np.max(np.abs(G - mapped)) <= 1e-12 * np.max(np.abs(mapped))
    assert np.allclose(TG.parameter_vector(lin), np.concatenate([W[:, :m].ravel(), W[:, m]]), rtol=0, atol=0)


def test_mlp_rows_match_an_autograd_loop_and_feed_the_diagnostics():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    X = torch.randn(50, 4, dtype=torch.float64)
    y = torch.randint(0, 3, (50,))
    G = TG.per_sample_gradients(net, torch.nn.functional.cross_entropy, X, y)
    for i in (0, 17, 49):
        net.zero_grad()
        torch.nn.functional.cross_entropy(net(X[i:i + 1]), y[i:i + 1]).backward()
        ref = torch.cat([p.grad.reshape(-1) for p in net.parameters()]).numpy()
        assert np.max(np.abs(G[i] - ref)) <= 1e-13
    Z = TG.minibatch_noise(G, batch=5, draws=400, seed=1)
    assert np.isfinite(D.block_tail_index(Z)) and D.hill(Z).value > 0


def test_minibatch_noise_covariance_is_c_times_the_sample_covariance():
    rng = np.random.default_rng(3)
    G = rng.normal(size=(30, 3)) * np.array([1.0, 2.0, 0.5])
    n, B, M = 30, 6, 20000
    Z = TG.minibatch_noise(G, batch=B, draws=M, seed=4)
    c = (n - B) / (B * (n - 1))
    want = c * np.cov(G.T, bias=True).diagonal()
    got = (Z**2).mean(axis=0)  # E Z = 0 exactly
    se = (Z**2).std(axis=0, ddof=1) / np.sqrt(M)
    assert np.all(np.abs(got - want) <= 4 * se)
    assert np.all(np.abs(Z.mean(axis=0)) <= 4 * Z.std(axis=0, ddof=1) / np.sqrt(M))


def test_bad_input_names_the_argument():
    net = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="model"):
        TG.per_sample_gradients(object(), torch.nn.functional.cross_entropy, np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="rows"):
        TG.per_sample_gradients(net, torch.nn.functional.cross_entropy, np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="batch"):
        TG.minibatch_noise(np.zeros((3, 2)), batch=4, draws=2)
