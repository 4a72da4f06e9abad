namespace LoraGen.Combine;

/// <summary>
/// The truncated SVD of a matrix given in factored form ΔW = B·A (B [m, R], A [R, n], R small), without forming ΔW:
/// thin QR of B and of Aᵀ (B = Q_b·R_b, Aᵀ = Q_a·R_a), a one-sided Jacobi SVD of the R×R core R_b·R_aᵀ, then
/// U = Q_b·U_core and V = Q_a·V_core. Cost O((m + n)·R² + R³) in float64, so it suits PEFT's <c>svd</c> combination
/// of LoRA adapters of any layer size.
/// </summary>
internal static class LowRankSvd
{
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
