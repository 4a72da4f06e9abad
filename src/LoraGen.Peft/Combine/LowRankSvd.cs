namespace LoraGen.Combine;

/// <summary>
/// The truncated SVD of a matrix given in factored form ΔW = B·A (B [m, R], A [R, n], R small), without forming ΔW:
/// thin QR of B and of Aᵀ (B = Q_b·R_b, Aᵀ = Q_a·R_a), a one-sided Jacobi SVD of the R×R core R_b·R_aᵀ, then
/// U = Q_b·U_core and V = Q_a·V_core. Cost O((m + n)·R² + R³) in float64, so it suits PEFT's <c>svd</c> combination
/// of LoRA adapters of any layer size. The same routines give a dense matrix's top-k SVD (exact, and randomized as
/// <c>torch.svd_lowrank</c>) and its reduced QR, for PiSSA and OLoRA initialisation.
/// </summary>
public static class LowRankSvd
{
    /// <summary>
    /// The top-<paramref name="k"/> SVD of a dense W [m, n] (row-major): W ≈ U_k·diag(σ_k)·V_kᵀ, as
    /// <see cref="Truncate"/> returns it (<c>newB</c> = U_k·diag(σ_k) [m, k], <c>newA</c> = V_kᵀ [k, n]). Exact: W is
    /// taken as the product W·I (or I·W when it is wide), so the core is min(m, n)².
    /// </summary>
    public static (float[] NewB, float[] NewA, double[] Sigma) TopK(double[] w, int m, int n, int k)
    {
        ArgumentNullException.ThrowIfNull(w);
        return m >= n ? Truncate(w, Identity(n), m, n, n, k) : Truncate(Identity(m), w, m, m, n, k);
    }

    /// <summary>
    /// The randomized top-<paramref name="k"/> SVD of W [m, n] (Halko et al., as <c>torch.svd_lowrank(W, q=k, niter)</c>
    /// computes it): Q = orth(W·Ω) for a Gaussian Ω [n, k] drawn from <paramref name="seed"/>, <paramref name="niter"/>
    /// power iterations Q = orth(W·orth(Wᵀ·Q)), then the exact SVD of the factored W ≈ Q·(Qᵀ·W). Same result layout as <see cref="TopK"/>.
    /// </summary>
    public static (float[] NewB, float[] NewA, double[] Sigma) RandomizedTopK(double[] w, int m, int n, int k, int niter, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(w);
        var random = new Random(unchecked((int)seed ^ (int)(seed >> 32)));
        var omega = new double[n * k];
        for (int i = 0; i < omega.Length; i++)
            omega[i] = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());   // Box–Muller
        var q = ThinQr(MatMul(w, omega, m, n, k), m, k).Q;                                // [m, k]
        var wt = Transpose(w, m, n);
        for (int it = 0; it < niter; it++)
        {
            var p = ThinQr(MatMul(wt, q, n, m, k), n, k).Q;                                // [n, k]
            q = ThinQr(MatMul(w, p, m, n, k), m, k).Q;
        }
        var qtw = MatMul(Transpose(q, m, k), w, k, m, n);                                  // [k, n]
        return Truncate(q, qtw, m, k, n, k);
    }

    /// <summary>
    /// The reduced QR of W [m, n] with p = min(m, n): Q [m, p] orthonormal columns spanning W's first p columns (Gram–Schmidt,
    /// R's diagonal ≥ 0; LAPACK's Householder QR may flip the sign of a column of Q and the matching row of R) and
    /// R = Qᵀ·W [p, n], upper triangular.
    /// </summary>
    public static (double[] Q, double[] R) Qr(double[] w, int m, int n)
    {
        ArgumentNullException.ThrowIfNull(w);
        int p = Math.Min(m, n);
        var first = new double[m * p];
        for (int i = 0; i < m; i++) Array.Copy(w, i * n, first, i * p, p);
        var q = ThinQr(first, m, p).Q;
        return (q, MatMul(Transpose(q, m, p), w, p, m, n));
    }

    private static double[] Identity(int n)
    {
        var id = new double[n * n];
        for (int i = 0; i < n; i++) id[i * n + i] = 1;
        return id;
    }

    /// <summary>X [r, t] · Y [t, c].</summary>
    private static double[] MatMul(double[] x, double[] y, int r, int t, int c)
    {
        var z = new double[r * c];
        for (int i = 0; i < r; i++)
            for (int l = 0; l < t; l++)
            {
                double a = x[i * t + l];
                if (a == 0) continue;
                for (int j = 0; j < c; j++) z[i * c + j] += a * y[l * c + j];
            }
        return z;
    }
    /// <summary>
    /// The best rank-<paramref name="k"/> factors of B·A (Eckart–Young): <c>newB</c> [m, k] = U_k·diag(σ_k) and
    /// <c>newA</c> [k, n] = V_kᵀ, as PEFT's <c>svd</c> combination returns them (lora_B = U·S, lora_A = Vh).
    /// </summary>
    /// <param name="b">B, [m, r] row-major, float64.</param>
    /// <param name="a">A, [r, n] row-major, float64.</param>
    /// <param name="m">Rows of B·A.</param>
    /// <param name="r">The inner rank of the factors.</param>
    /// <param name="n">Columns of B·A.</param>
    /// <param name="k">The rank to keep; components beyond <paramref name="r"/> are zero.</param>
    public static (float[] NewB, float[] NewA, double[] Sigma) Truncate(double[] b, double[] a, int m, int r, int n, int k)
    {
        var (qb, rb) = ThinQr(b, m, r);                 // B  = Qb [m, r] · Rb [r, r]
        var (qa, ra) = ThinQr(Transpose(a, r, n), n, r); // Aᵀ = Qa [n, r] · Ra [r, r]
        var core = new double[r * r];                    // Rb · Raᵀ
        for (int i = 0; i < r; i++)
            for (int j = 0; j < r; j++)
            {
                double s = 0;
                for (int t = 0; t < r; t++) s += rb[i * r + t] * ra[j * r + t];
                core[i * r + j] = s;
            }
        var (uc, sigma, vc) = JacobiSvd(core, r);
        var newB = new float[(long)m * k];
        var newA = new float[(long)k * n];
        for (int c = 0; c < k && c < r; c++)
        {
            for (int row = 0; row < m; row++)
            {
                double s = 0;
                for (int t = 0; t < r; t++) s += qb[row * r + t] * uc[t * r + c];
                newB[(long)row * k + c] = (float)(s * sigma[c]);
            }
            for (int col = 0; col < n; col++)
            {
                double s = 0;
                for (int t = 0; t < r; t++) s += qa[col * r + t] * vc[t * r + c];
                newA[(long)c * n + col] = (float)s;
            }
        }
        return (newB, newA, sigma);
    }

    private static double[] Transpose(double[] x, int rows, int cols)
    {
        var t = new double[x.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) t[j * rows + i] = x[i * cols + j];
        return t;
    }

    /// <summary>Modified Gram–Schmidt with one re-orthogonalization pass: X [rows, cols] = Q [rows, cols] · R [cols, cols]; a dependent column gets a zero Q column and a zero R row.</summary>
    private static (double[] Q, double[] R) ThinQr(double[] x, int rows, int cols)
    {
        var q = (double[])x.Clone();
        var rr = new double[cols * cols];
        double scale = 0;
        foreach (var v in x) scale = Math.Max(scale, Math.Abs(v));
        double tiny = scale * 1e-12 * Math.Max(rows, cols);
        for (int j = 0; j < cols; j++)
        {
            for (int pass = 0; pass < 2; pass++)
                for (int i = 0; i < j; i++)
                {
                    double dot = 0;
                    for (int t = 0; t < rows; t++) dot += q[t * cols + i] * q[t * cols + j];
                    rr[i * cols + j] += dot;
                    for (int t = 0; t < rows; t++) q[t * cols + j] -= dot * q[t * cols + i];
                }
            double norm = 0;
            for (int t = 0; t < rows; t++) norm += q[t * cols + j] * q[t * cols + j];
            norm = Math.Sqrt(norm);
            if (norm <= tiny)
            {
                for (int t = 0; t < rows; t++) q[t * cols + j] = 0;
                continue;
            }
            rr[j * cols + j] = norm;
            for (int t = 0; t < rows; t++) q[t * cols + j] /= norm;
        }
        return (q, rr);
    }

    /// <summary>One-sided (Hestenes) Jacobi SVD of a square n×n matrix: M = U·diag(σ)·Vᵀ, σ descending.</summary>
    private static (double[] U, double[] Sigma, double[] V) JacobiSvd(double[] m, int n)
    {
        var w = (double[])m.Clone();
        var v = new double[n * n];
        for (int i = 0; i < n; i++) v[i * n + i] = 1;
        for (int sweep = 0; sweep < 60; sweep++)
        {
            bool rotated = false;
            for (int p = 0; p < n - 1; p++)
                for (int q = p + 1; q < n; q++)
                {
                    double alpha = 0, beta = 0, gamma = 0;
                    for (int t = 0; t < n; t++)
                    {
                        double wp = w[t * n + p], wq = w[t * n + q];
                        alpha += wp * wp;
                        beta += wq * wq;
                        gamma += wp * wq;
                    }
                    if (Math.Abs(gamma) <= 1e-15 * Math.Sqrt(alpha * beta) || gamma == 0) continue;
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double tan = Math.Sign(zeta == 0 ? 1 : zeta) / (Math.Abs(zeta) + Math.Sqrt(1 + zeta * zeta));
                    double cos = 1 / Math.Sqrt(1 + tan * tan), sin = cos * tan;
                    for (int t = 0; t < n; t++)
                    {
                        double wp = w[t * n + p], wq = w[t * n + q];
                        w[t * n + p] = cos * wp - sin * wq;
                        w[t * n + q] = sin * wp + cos * wq;
                        double vp = v[t * n + p], vq = v[t * n + q];
                        v[t * n + p] = cos * vp - sin * vq;
                        v[t * n + q] = sin * vp + cos * vq;
                    }
                }
            if (!rotated) break;
        }
        var sigma = new double[n];
        for (int j = 0; j < n; j++)
        {
            double s = 0;
            for (int t = 0; t < n; t++) s += w[t * n + j] * w[t * n + j];
            sigma[j] = Math.Sqrt(s);
        }
        var order = Enumerable.Range(0, n).OrderByDescending(j => sigma[j]).ToArray();
        var u = new double[n * n];
        var vs = new double[n * n];
        var ss = new double[n];
        for (int c = 0; c < n; c++)
        {
            int j = order[c];
            ss[c] = sigma[j];
            for (int t = 0; t < n; t++)
            {
                u[t * n + c] = sigma[j] > 0 ? w[t * n + j] / sigma[j] : 0;
                vs[t * n + c] = v[t * n + j];
            }
        }
        return (u, ss, vs);
    }
}
