using System.Security.Cryptography;
using System.Text;

namespace Router.Node.Pipeline;

/// <summary>Virtual keys are only ever held as SHA-256; the key id is the hash's first 16 hex digits.</summary>
public static class KeyHashing
{
    public static string Sha256Hex(string key)
    {
        Span<byte> hash = stackalloc byte[32];
        var max = Encoding.UTF8.GetMaxByteCount(key.Length);
        var buffer = max <= 512 ? stackalloc byte[max] : new byte[max];
        var n = Encoding.UTF8.GetBytes(key, buffer);
        SHA256.HashData(buffer[..n], hash);
        return Convert.ToHexStringLower(hash);
    }

    public static string KeyIdOf(string sha256Hex) => sha256Hex[..16];
}
