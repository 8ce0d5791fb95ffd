using System.IO.MemoryMappedFiles;

namespace HealthRec.Fhir.Sources;

/// <summary>
/// A whole file mapped read-only, read as spans in place: no read call and no copy per line, the OS's page cache is
/// the buffer. Population NDJSON runs to gigabytes, and a scoring chunk reads a scattered few of its lines.
/// </summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _start;
    private bool _disposed;

    public MappedFile(string path)
    {
        Path = path;
        Length = new FileInfo(path).Length;
        if (Length == 0)
        {
            // An empty file cannot be mapped, and has nothing to read.
            return;
        }

        _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _start = pointer + _view.PointerOffset;
    }

    public string Path { get; }

    public long Length { get; }

    /// <summary>The bytes at <paramref name="offset"/>; a span reaches at most <see cref="int.MaxValue"/> bytes.</summary>
    public ReadOnlySpan<byte> Span(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (offset < 0 || length < 0 || offset + length > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes {offset}..{offset + length} are outside {System.IO.Path.GetFileName(Path)} ({Length} bytes)");
        }

        return length == 0 ? [] : new ReadOnlySpan<byte>(_start + offset, length);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }

        _map?.Dispose();
    }
}
