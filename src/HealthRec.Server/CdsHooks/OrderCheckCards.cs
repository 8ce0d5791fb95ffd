using System.Globalization;
using System.Text;
using System.Text.Json;
using Hl7.Fhir.Model;
using HealthRec.Clinical.Ingestion;
using HealthRec.Clinical.Knowledge;
using HealthRec.Clinical.Records;
using HealthRec.Data;
using HealthRec.Fhir;
using HealthRec.Fhir.Ingestion;
using HealthRec.Fhir.Knowledge;
using HealthRec.ML.Recommendation;
using HealthRec.Server.Models;
using static HealthRec.Server.CdsHooks.PatientRiskCards;

namespace HealthRec.Server.CdsHooks;

/// <summary>A draft medication order from <c>context.draftOrders</c>, and what HealthRec knows of its medicine.</summary>
internal sealed record DraftOrder(string Reference, MedicationRequest Request, MedicationEntry? Medicine);

/// <summary>
/// The order-sign / order-select answer: each draft medication order (the selected ones, for order-select) is checked
/// against the patient's record with the other draft orders counted as taken — the catalog's contraindications of the
/// medicine (e.g. an ACE inhibitor in pregnancy or beside an ARB, metformin below eGFR 30), duplicate therapy (a
/// medicine of the same class already taken or drafted), and its cautions. A contraindicated draft gets a warning card
/// that offers to remove it and, where the recommender has one for this patient, to replace it with a safe medicine for
/// the same purpose (same response analyte or group). At most three cards, contraindications first; none when every
/// draft is fine or unknown to the catalog.
/// </summary>
internal sealed class OrderCheckCards(FhirRecordMapper mapper, InterventionCatalog catalog)
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public IReadOnlyList<DraftOrder> ReadDrafts(JsonElement draftOrders, DateTimeOffset at, IngestionReport report)
    {
        var bundle = FhirJson.TryParse(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(draftOrders), "context.draftOrders", report,
            keepValidParts: true) as Bundle;
        var drafts = new List<DraftOrder>();
        foreach (var request in bundle?.Entry.Select(e => e.Resource).OfType<MedicationRequest>() ?? [])
        {
            drafts.Add(new DraftOrder($"MedicationRequest/{request.Id}", request, mapper.AsStarted(request, at)));
        }

        return drafts;
    }

    public HookAnswer Build(ServingModels models, PatientRecord record, DateTimeOffset at, IReadOnlyList<DraftOrder> drafts,
        IReadOnlyList<string>? selections, CardContext context)
    {
        var checkedDrafts = selections is null ? drafts : [.. drafts.Where(d => selections.Contains(d.Reference, StringComparer.Ordinal))];
        var found = new List<(CdsCard Card, CdsCardRecord Record, int Severity)>();
        foreach (var draft in checkedDrafts)
        {
            if (draft.Medicine is not { } medicine)
            {
                continue;
            }

            var items = catalog.Items.Where(i => i.Category == InterventionCategory.Medication && i.NotIfTaking.Any(medicine.Classes.Contains)).ToList();
            if (items.Count == 0)
            {
                continue;
            }

            // What the patient would take beside this order once the session is signed.
            var others = drafts.Where(d => !ReferenceEquals(d, draft) && d.Medicine is not null).Select(d => d.Medicine!).ToList();
            var withOthers = record.WithMedications(others);
            var rules = new RecordRuleContext(withOthers, at, models.Featurizer);
            var contraindications = items.SelectMany(i => i.Contraindications.Where(c => c.Rule.Evaluate(rules)).Select(c => (Item: i, c.Reason)))
                .DistinctBy(c => c.Reason, StringComparer.Ordinal).ToList();
            var duplicates = items.SelectMany(i => i.NotIfTaking).Where(medicine.Classes.Contains).Distinct(StringComparer.Ordinal)
                .SelectMany(c => withOthers.Medications.Where(m => m.Classes.Contains(c) && m.IsActiveAt(at)))
                .Select(m => m.Display ?? m.Code).Distinct(StringComparer.Ordinal).ToList();
            var cautions = items.SelectMany(i => i.Cautions.Where(c => c.Rule.Evaluate(rules)).Select(c => c.Reason)).Distinct(StringComparer.Ordinal).ToList();
            var name = medicine.Display ?? (draft.Request.Medication as CodeableConcept)?.Text ?? medicine.Code;
            if (contraindications.Count > 0)
            {
                var alternative = Alternative(models, withOthers, at, medicine, items);
                found.Add(Card("order-contraindication", items[0], draft, name, Indicator.Warning,
                    $"{name} is contraindicated: {contraindications[0].Reason}",
                    [.. contraindications.Select(c => $"Contraindicated: {c.Reason} (HealthRec catalog: {c.Item.Title})")], cautions, alternative, record.PatientId, context));
            }
            else if (duplicates.Count > 0)
            {
                found.Add(Card("order-duplicate", items[0], draft, name, Indicator.Warning,
                    $"Duplicate therapy: {name} with {string.Join(", ", duplicates)} already taken or ordered",
                    [$"Already taken or in this order session: {string.Join(", ", duplicates)} (same class: {string.Join(", ", medicine.Classes)})"],
                    cautions, null, record.PatientId, context));
            }
            else if (cautions.Count > 0)
            {
                found.Add(Card("order-caution", items[0], draft, name, Indicator.Info, $"Caution with {name}: {cautions[0]}", [], cautions, null,
                    record.PatientId, context));
            }
        }

        var shown = found.OrderByDescending(f => f.Severity).Take(MaxCards).ToList();
        return new HookAnswer([.. shown.Select(f => f.Card)], [.. shown.Select(f => f.Record)]);
    }

    // The recommender's best medicine for this patient that serves the same purpose and is not of the drafted class.
    private static Recommendation? Alternative(ServingModels models, PatientRecord record, DateTimeOffset at, MedicationEntry medicine, List<Intervention> items)
    {
        var purposes = items.Select(i => i.Response).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var groups = items.Select(i => i.Class).ToHashSet(StringComparer.Ordinal);
        return models.Recommender.Recommend(record, at, top: 10).Recommendations.FirstOrDefault(r =>
            r.Intervention.Category == InterventionCategory.Medication && r.Indicated
            && !r.Intervention.NotIfTaking.Any(medicine.Classes.Contains)
            && ((r.Intervention.Response is { } response && purposes.Contains(response)) || groups.Contains(r.Intervention.Class)));
    }

    private static (CdsCard Card, CdsCardRecord Record, int Severity) Card(string kind, Intervention item, DraftOrder draft, string name, string indicator,
        string summary, IReadOnlyList<string> problems, IReadOnlyList<string> cautions, Recommendation? alternative, string patientId, CardContext context)
    {
        var uuid = Guid.NewGuid().ToString();
        var detail = new StringBuilder();
        detail.Append(Ci, $"**{Markdown(name)}** (draft order {Markdown(draft.Reference)}), checked against the patient's record and the other draft orders:\n\n");
        foreach (var problem in problems)
        {
            detail.Append(Ci, $"- {Markdown(problem)}\n");
        }

        foreach (var caution in cautions)
        {
            detail.Append(Ci, $"- Caution: {Markdown(caution)}\n");
        }

        foreach (var evidence in item.Evidence)
        {
            detail.Append(Ci, $"- Evidence: [{Markdown(evidence.Label)}]({evidence.Url}) (strength {Markdown(evidence.Strength)})\n");
        }

        var suggestions = new List<CdsSuggestion>();
        var stored = new List<CdsSuggestionRecord>();
        var remove = new CdsAction("delete", $"Remove the draft order for {name}") { ResourceId = draft.Reference };
        if (alternative is not null)
        {
            var proposal = ProposalBuilder.Build(alternative.Intervention, patientId, alternative.Reasons, null);
            var suggestion = new CdsSuggestion($"Replace with {alternative.Intervention.Title}", Guid.NewGuid().ToString())
            {
                IsRecommended = true,
                Actions =
                [
                    remove,
                    new CdsAction("create", $"Create a proposed MedicationRequest (status draft, intent proposal): {alternative.Intervention.Display}")
                    {
                        Resource = JsonSerializer.SerializeToElement(proposal, FhirJson.Options),
                    },
                ],
            };
            suggestions.Add(suggestion);
            stored.Add(new CdsSuggestionRecord(suggestion.Uuid, alternative.Intervention.Id, suggestion.Label));
            detail.Append(Ci, $"\nA better-suited alternative for this patient: **{Markdown(alternative.Intervention.Title)}** — {Markdown(string.Join("; ", alternative.Reasons))}.\n");
        }

        if (indicator != Indicator.Info)
        {
            var removal = new CdsSuggestion($"Remove the {name} order", Guid.NewGuid().ToString()) { Actions = [remove] };
            suggestions.Add(removal);
            stored.Add(new CdsSuggestionRecord(removal.Uuid, null, removal.Label));
        }

        var card = new CdsCard(uuid, Summary(summary), indicator, new CdsSource("HealthRec order check")
        {
            Url = context.Url("interventions"),
            Topic = new CdsCoding(CardCodes.TopicSystem, kind, kind switch
            {
                "order-contraindication" => "Contraindicated order",
                "order-duplicate" => "Duplicate therapy",
                _ => "Order caution",
            }),
        })
        {
            Detail = detail.ToString().TrimEnd(),
            Suggestions = suggestions.Count > 0 ? suggestions : null,
            SelectionBehavior = suggestions.Count > 0 ? "at-most-one" : null,
            OverrideReasons = CardCodes.OrderOverrides,
            Links = [context.AppLink(uuid, "Open HealthRec for the full view")],
        };
        return (card, new CdsCardRecord(uuid, kind, item.Id, indicator, card.Summary, stored), Indicator.Rank(indicator) * 10 + (kind == "order-contraindication" ? 1 : 0));
    }
}
