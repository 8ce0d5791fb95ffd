using Hl7.Fhir.Model;
using static HealthRec.Server.CdsHooks.PatientRiskCards;

namespace HealthRec.Server.CdsHooks;

/// <summary>A draft medication order from <c>context.draftOrders</c>: the medicine it names, and that medicine as if taken (null when in no class).</summary>
internal sealed record DraftOrder(string Reference, MedicineUnderCheck Medicine, MedicationEntry? AsTaken);

/// <summary>The draft orders of a call, and what of <c>context.draftOrders</c> could not be read (each said on a card).</summary>
internal sealed record DraftOrders(IReadOnlyList<DraftOrder> Orders, IReadOnlyList<string> Unreadable);

/// <summary>
/// The order-sign / order-select answer: each draft medication order (the selected ones, for order-select) is checked
/// with the medication-safety knowledge base against the patient's record, the other draft orders counted as taken —
/// allergies, kidney function, potassium, pregnancy, conditions, interactions and duplicate therapy. One card per draft
/// with anything to say: critical for an allergy, warning for a contraindication, an interaction, a duplicate or a check
/// that could not be made, info for a caution; a warning offers to remove the draft and, where the recommender has one,
/// to replace it with a safe medicine for the same purpose. Fail safe: a draft whose checks could not all be made always
/// gets a card saying which and why, and so does a draft that could not be read. At most three cards; beyond, the third
/// lists every remaining draft's finding, so nothing is dropped. No card means every applicable check was made and passed.
/// </summary>
internal sealed class OrderCheckCards(FhirRecordMapper mapper, InterventionCatalog catalog, MedicationSafety safety)
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public DraftOrders ReadDrafts(JsonElement draftOrders, DateTimeOffset at, IngestionReport report)
    {
        var unreadable = new List<string>();
        var local = new IngestionReport(p =>
        {
            report.Problem(p.Kind, p.Where, p.Message);
            lock (unreadable)
            {
                unreadable.Add(p.Message);
            }
        });
        var bundle = FhirJson.TryParseBundle(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(draftOrders), "context.draftOrders", local);
        var entries = bundle?.Entry.Select(e => e.Resource).OfType<Resource>().ToList() ?? [];
        var drafts = new List<DraftOrder>();
        foreach (var request in entries.OfType<MedicationRequest>())
        {
            var concept = FhirRecordMapper.MedicineOf(request, request.Medication, entries);
            drafts.Add(new DraftOrder($"MedicationRequest/{request.Id}", Describe(concept), mapper.AsStarted(concept, at)));
        }

        return new DraftOrders(drafts, unreadable);
    }

    // The coding HealthRec knows best (a known ingredient or class), else the first; named by the order's text, else
    // by what identified it (a bare ingredient code is named by its ingredient, so the card says what was checked).
    private MedicineUnderCheck Describe(CodeableConcept? concept)
    {
        var codings = concept?.Coding.Where(c => c.System is not null && c.Code is not null).Select(c => new CodedValue(c.System!, c.Code!, c.Display)).ToList() ?? [];
        var described = codings.Select(c => safety.Describe(c.System, c.Code, c.Display, concept!.Text)).ToList();
        var best = described.FirstOrDefault(d => d.Identity.IsKnown) ?? described.FirstOrDefault();
        var name = concept?.Text ?? codings.Select(c => c.Display).FirstOrDefault(d => !string.IsNullOrWhiteSpace(d)) ?? "";
        if (name.Length == 0 && best is { Identity.IsKnown: true } known)
        {
            var code = known.Codes[0];
            name = known.Identity.Ingredients.IsEmpty
                ? $"{CodeSystems.ShortName(code.System)} {code.Code}"
                : $"{string.Join(" / ", known.Identity.Ingredients.Select(i => i.Name))} ({CodeSystems.ShortName(code.System)} {code.Code})";
        }

        return best is null
            ? new MedicineUnderCheck(name, safety.Terminology.IdentifyMedication("", "", name.Length > 0 ? name : null), [])
            : best with { Name = name, Codes = [.. codings] };
    }

    public HookAnswer Build(ServingModels models, PatientRecord record, DateTimeOffset at, DraftOrders drafts, IReadOnlyList<string>? selections,
        CardContext context)
    {
        var checkedDrafts = selections is null ? drafts.Orders : [.. drafts.Orders.Where(d => selections.Any(s => CdsRequestReader.SelectionNames(s, d.Reference)))];
        var found = new List<Found>();
        // What the patient takes and the session orders, identified once; each draft is checked against it less itself.
        var session = safety.Taken(record, at, drafts.Orders.Where(d => d.AsTaken is not null).Select(d => d.AsTaken!));
        foreach (var draft in checkedDrafts)
        {
            var findings = safety.Check(draft.Medicine, record, at, session.Without(draft.AsTaken));
            if (findings.Count > 0)
            {
                // What the patient would take beside this order once the session is signed (for an alternative, if one is sought).
                found.Add(Card(models, record, at, draft, findings,
                    () => [.. drafts.Orders.Where(d => !ReferenceEquals(d, draft) && d.AsTaken is not null).Select(d => d.AsTaken!)], context));
            }
        }

        if (drafts.Unreadable.Count > 0)
        {
            found.Add(UnreadableCard(drafts.Unreadable, context));
        }

        var ordered = found.OrderByDescending(f => f.Severity).ToList();
        var shown = ordered.Count <= MaxCards ? ordered : [.. ordered.Take(MaxCards - 1), Rollup(ordered.Skip(MaxCards - 1).ToList(), context)];
        return new HookAnswer([.. shown.Select(f => f.Card)], [.. shown.Select(f => f.Record)]);
    }

    private sealed record Found(CdsCard Card, CdsCardRecord Record, int Severity, string Line);

    private Found Card(ServingModels models, PatientRecord record, DateTimeOffset at, DraftOrder draft, IReadOnlyList<SafetyFinding> findings,
        Func<IReadOnlyList<MedicationEntry>> alongside, CardContext context)
    {
        var top = findings[0];
        var name = draft.Medicine.Name.Length > 0 ? draft.Medicine.Name : draft.Reference;
        var indicator = findings.Any(f => f.Critical) ? Indicator.Critical : findings.Any(f => f.Blocks) ? Indicator.Warning : Indicator.Info;
        var kind = Topic(top);
        // The summary gives the first finding; that there are more is said in it too, so that a second check not made
        // (potassium beside eGFR) is not hidden behind the first.
        var more = findings.Count > 1 ? string.Create(Ci, $" (+{findings.Count - 1} more)") : "";
        var summary = Summary(name, top.Summary + more, top.Headline + more);
        var detail = new StringBuilder();
        detail.Append(Ci, $"**{Markdown(name)}** (draft order {Markdown(draft.Reference)}), checked against the patient's record and the other draft orders by HealthRec's medication-safety rules:\n\n");
        foreach (var finding in findings)
        {
            detail.Append(Ci, $"- {Label(finding)}: {Markdown(finding.Text)}\n");
        }

        if (findings.Any(f => f.Kind == FindingKind.NotChecked))
        {
            detail.Append("\nA check that could not be made has not passed: confirm it before signing.\n");
        }

        var evidence = findings.SelectMany(f => f.Evidence).DistinctBy(e => e.Id, StringComparer.Ordinal).ToList();
        if (evidence.Count > 0)
        {
            // Parentheses in a URL would end the Markdown link early in some renderers: they are percent-encoded.
            detail.Append("\nEvidence: ").AppendJoin("; ", evidence.Select(e =>
                $"[{Markdown(e.Title)}]({e.Url.Replace("(", "%28", StringComparison.Ordinal).Replace(")", "%29", StringComparison.Ordinal)}) ({e.Year})")).Append('\n');
        }

        var suggestions = new List<CdsSuggestion>();
        var stored = new List<CdsSuggestionRecord>();
        var remove = new CdsAction("delete", $"Remove the draft order for {name}") { ResourceId = draft.Reference };
        var blocks = findings.Any(f => f.Blocks && f.Kind != FindingKind.NotChecked);
        if (blocks && Alternative(models, record.WithMedications(alongside()), at, draft.Medicine) is { } alternative)
        {
            var proposal = ProposalBuilder.Build(alternative.Intervention, record.PatientId, alternative.Reasons, null);
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

        var uuid = Guid.NewGuid().ToString();
        var card = new CdsCard(uuid, Summary(summary), indicator, Source(kind, context))
        {
            Detail = detail.ToString().TrimEnd(),
            Suggestions = suggestions.Count > 0 ? suggestions : null,
            SelectionBehavior = suggestions.Count > 0 ? "at-most-one" : null,
            OverrideReasons = CardCodes.OrderOverrides,
            Links = [context.AppLink(uuid, "Open HealthRec for the full view")],
        };
        return new Found(card, new CdsCardRecord(uuid, kind, top.RuleId, indicator, card.Summary, stored), Rank(indicator, top), summary);
    }

    // A draftOrders Bundle (or an entry of it) that could not be read: its orders may not have been checked.
    private static Found UnreadableCard(IReadOnlyList<string> problems, CardContext context)
    {
        var uuid = Guid.NewGuid().ToString();
        var summary = "Draft orders not checked: context.draftOrders could not be read";
        var card = new CdsCard(uuid, summary, Indicator.Warning, Source("order-not-checked", context))
        {
            Detail = "HealthRec could not read all of the draft orders, so the orders below may not have been checked (a check that could not be made has not passed):\n\n"
                + string.Join("\n", problems.Take(5).Select(p => $"- {Markdown(p)}")),
            OverrideReasons = CardCodes.OrderOverrides,
        };
        return new Found(card, new CdsCardRecord(uuid, "order-not-checked", "draft-orders", Indicator.Warning, summary, []), Rank(Indicator.Warning, null), summary);
    }

    // More drafts to warn about than cards to show: the last card lists every one of the rest, most severe first.
    private static Found Rollup(IReadOnlyList<Found> rest, CardContext context)
    {
        var uuid = Guid.NewGuid().ToString();
        var indicator = rest.Select(r => r.Card.Indicator).MaxBy(Indicator.Rank)!;
        var summary = Summary($"{rest.Count} more draft orders need attention: {string.Join("; ", rest.Select(r => r.Line))}");
        var card = new CdsCard(uuid, summary, indicator, Source("order-not-checked", context) with { Topic = CardCodes.Topic("order-summary") })
        {
            Detail = string.Join("\n", rest.Select(r => $"- {Markdown(r.Line)}")),
            OverrideReasons = CardCodes.OrderOverrides,
            Links = [context.AppLink(uuid, "Open HealthRec for the full view")],
        };
        return new Found(card, new CdsCardRecord(uuid, "order-summary", "draft-orders", indicator, summary, []), rest.Max(r => r.Severity), summary);
    }

    private static CdsSource Source(string kind, CardContext context) => new("HealthRec order check")
    {
        Url = context.Url("medication-safety"),
        Topic = CardCodes.Topic(kind),
    };

    private static string Topic(SafetyFinding top) => top switch
    {
        { Kind: FindingKind.Allergy } => "order-allergy",
        { Kind: FindingKind.NotChecked } => "order-not-checked",
        { Severity: Severity.Caution } => "order-caution",
        { Kind: FindingKind.Interaction } => "order-interaction",
        { Kind: FindingKind.Duplicate } => "order-duplicate",
        _ => "order-contraindication",
    };

    private static string Label(SafetyFinding finding) => finding switch
    {
        { Kind: FindingKind.NotChecked } => "**Not checked**",
        { Kind: FindingKind.Allergy, Critical: true } => "**Allergy**",
        { Severity: Severity.Contraindicated } => "**Contraindicated**",
        { Severity: Severity.Avoid } => "**Avoid**",
        _ => "Caution",
    };

    // Cards rank by indicator; within one, a finding that was made outranks one that could not be.
    private static int Rank(string indicator, SafetyFinding? top) =>
        (Indicator.Rank(indicator) * 10) + (top is { Kind: not FindingKind.NotChecked, Severity: var s } ? (int)s + 1 : 0);

    // The recommender's best medicine for this patient that serves the same purpose and is not of the drafted class; the
    // recommender has already passed it through the same safety checks.
    private Recommendation? Alternative(ServingModels models, PatientRecord record, DateTimeOffset at, MedicineUnderCheck medicine)
    {
        var classes = medicine.Identity.Classes;
        var items = catalog.Items.Where(i => i.Category == InterventionCategory.Medication && i.NotIfTaking.Any(classes.Contains)).ToList();
        if (items.Count == 0)
        {
            return null;
        }

        var purposes = items.Select(i => i.Response).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var groups = items.Select(i => i.Class).ToHashSet(StringComparer.Ordinal);
        return models.Recommender.Recommend(record, at, top: 10).Recommendations.FirstOrDefault(r =>
            r.Intervention.Category == InterventionCategory.Medication && r.Indicated
            && !r.Intervention.NotIfTaking.Any(classes.Contains)
            && ((r.Intervention.Response is { } response && purposes.Contains(response)) || groups.Contains(r.Intervention.Class)));
    }
}
