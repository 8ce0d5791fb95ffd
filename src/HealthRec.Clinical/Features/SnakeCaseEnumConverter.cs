namespace HealthRec.Clinical.Features;

/// <summary>
/// An enum in the definition files, read and written as its member's name in snake_case (<c>SlopePerYear</c> is
/// <c>"slope_per_year"</c>); a member whose file name differs says so with <see cref="JsonStringEnumMemberNameAttribute"/>.
/// </summary>
public sealed class SnakeCaseEnumConverter<TEnum>() : JsonStringEnumConverter<TEnum>(JsonNamingPolicy.SnakeCaseLower)
    where TEnum : struct, Enum;
