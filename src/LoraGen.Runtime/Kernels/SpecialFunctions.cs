namespace LoraGen.Kernels;

/// <summary>Special functions the standard library lacks.</summary>
internal static class SpecialFunctions
{
    /// <summary>
    /// The error function in double precision: the Maclaurin series for |x| &lt; 2.5, and the continued
    /// fraction of erfc for larger |x|. Accurate to a few ulps of float32 everywhere.
    /// </summary>
    internal static double Erf(double x)
    {
        double ax = Math.Abs(x);
        if (ax < 2.5)
        {
            // erf x = 2/√π Σ (−1)ⁿ x^(2n+1) / (n! (2n+1))
            double x2 = x * x, term = x, sum = x;
            for (int n = 1; n < 60; n++)
            {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
            }
            return 1.1283791670955126 * sum;
        }
        if (ax > 6) return Math.Sign(x);
        // erfc x = exp(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + 2/(x + ...))))), evaluated from the tail.
        double f = ax;
        for (int n = 60; n >= 1; n--) f = ax + (n * 0.5) / f;
        double erfc = Math.Exp(-ax * ax) / (f * 1.7724538509055159);
        return x > 0 ? 1 - erfc : erfc - 1;
    }
}
