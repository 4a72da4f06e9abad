namespace LoraGen.SafeTensors;

/// <summary>The validation rule a safetensors file broke (names follow the reference implementation's errors).</summary>
public enum SafetensorsRule
{
    /// <summary>The file is shorter than the 8-byte header length.</summary>
    HeaderTooSmall,
    /// <summary>The declared header is longer than 100,000,000 bytes.</summary>
    HeaderTooLarge,
    /// <summary>The declared header runs past the end of the file.</summary>
    InvalidHeaderLength,
    /// <summary>The header is not valid UTF-8.</summary>
    InvalidHeader,
    /// <summary>The header does not start with '{'.</summary>
    InvalidHeaderStart,
    /// <summary>The header is not JSON of the expected form (including duplicate keys and unknown dtypes).</summary>
    InvalidHeaderDeserialization,
    /// <summary>A tensor's offsets do not continue where the previous tensor ended, or end before they begin.</summary>
    InvalidOffset,
    /// <summary>Shape × dtype size overflows.</summary>
    ValidationOverflow,
    /// <summary>A tensor's byte size does not match its dtype and shape.</summary>
    TensorInvalidInfo,
    /// <summary>The tensors do not cover the data buffer exactly (trailing or missing bytes).</summary>
    MetadataIncompleteBuffer,
    /// <summary>The requested tensor is not in the file.</summary>
    TensorNotFound,
    /// <summary>
    /// LoraGen's own, not the reference's: a valid tensor that cannot be read as asked — a dtype with no float32
    /// conversion, more elements than one array or view holds, more bytes than one span, a dimension or rank the
    /// reading tensor type cannot hold.
    /// </summary>
    TensorUnreadable,
}
