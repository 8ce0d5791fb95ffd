namespace HealthRec.ML.Tests;

/// <summary>The medication-safety knowledge base as a file: what its allergen list may say, and what it refuses.</summary>
public sealed class MedicationKnowledgeFileTests
{
    private static readonly string File_ = Repo.Path_(MedicationSafetyFiles.DefaultFile);

    private static JsonNode Committed() => JsonNode.Parse(File.ReadAllText(File_))!;

    private static Clinical.Safety.MedicationKnowledge Parse(JsonNode knowledge) => MedicationSafetyFiles.Parse(knowledge.ToJsonString(),
        File.ReadAllText(Path.Combine(Path.GetDirectoryName(File_)!, MedicationSafetyFiles.SchemaFileName)), "medication-safety.json", Repo.Terminology);

    [Fact]
    public void GivenTheCommittedKnowledge_WhenLoaded_ThenNoKnownAllergyCodesRecordNoneAndAreNoMedicine()
    {
        var allergens = Repo.Knowledge.Allergens;

        foreach (var code in new[] { "716186003", "409137002", "429625007", "428607008" })
        {
            var allergen = allergens[(Clinical.Terminology.CodeSystems.Snomed, code)];
            Assert.True(allergen.NoneKnown, code);
            Assert.False(allergen.Medication, code);
        }

        Assert.False(allergens[(Clinical.Terminology.CodeSystems.Snomed, "91936005")].NoneKnown);
    }

    [Fact]
    public void GivenANoKnownAllergyCodeThatNamesAClass_WhenParsed_ThenItIsRefusedNamingTheCode()
    {
        var knowledge = Committed();
        var nkda = knowledge["allergy"]!["allergens"]!.AsArray().Single(a => (string)a!["code"]! == "409137002")!;
        nkda["classes"] = new JsonArray("penicillin");

        var ex = Assert.Throws<CatalogException>(() => Parse(knowledge));

        Assert.Contains("allergen http://snomed.info/sct|409137002: a code that records no known allergy names no classes, ingredients or medication", ex.Message, StringComparison.Ordinal);
    }
}
