using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;

namespace LoraGen.SourceModel
{
    /// <summary>
    /// An immutable array with value equality, so pipeline models that hold lists stay cacheable
    /// (a plain array compares by reference and would defeat incremental caching).
    /// </summary>
    internal readonly struct EquatableArray<T> : IEquatable<EquatableArray<T>>, IReadOnlyList<T>
        where T : IEquatable<T>
    {
        private readonly T[]? _items;

        public EquatableArray(T[] items) => _items = items;

        public EquatableArray(IEnumerable<T> items) => _items = items.ToArray();

        public static EquatableArray<T> Empty => new(Array.Empty<T>());

        public int Count => _items?.Length ?? 0;

        public T this[int index] => _items![index];

        public bool Equals(EquatableArray<T> other) => AsSpan().SequenceEqual(other.AsSpan());

        public override bool Equals(object? obj) => obj is EquatableArray<T> other && Equals(other);

        public override int GetHashCode()
        {
            unchecked
            {
                int h = 17;
                foreach (var item in AsSpan()) h = h * 31 + (item?.GetHashCode() ?? 0);
                return h;
            }
        }

        public ReadOnlySpan<T> AsSpan() => _items is null ? ReadOnlySpan<T>.Empty : _items.AsSpan();

        public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)(_items ?? Array.Empty<T>())).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public static bool operator ==(EquatableArray<T> left, EquatableArray<T> right) => left.Equals(right);

        public static bool operator !=(EquatableArray<T> left, EquatableArray<T> right) => !left.Equals(right);
    }
}
