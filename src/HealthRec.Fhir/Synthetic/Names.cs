namespace HealthRec.Fhir.Synthetic;

/// <summary>Common given and family names for synthetic patients; any resemblance to a real person is chance.</summary>
internal static class Names
{
    public static readonly string[] Female =
    [
        "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen", "Lisa", "Nancy",
        "Betty", "Sandra", "Margaret", "Ashley", "Kimberly", "Emily", "Donna", "Michelle", "Carol", "Amanda", "Melissa", "Deborah",
        "Maria", "Aisha", "Mei", "Priya", "Fatima", "Sofia", "Camila", "Grace", "Ana", "Yuki", "Leila", "Rosa",
    ];

    public static readonly string[] Male =
    [
        "James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas", "Christopher", "Charles", "Daniel",
        "Matthew", "Anthony", "Mark", "Donald", "Steven", "Andrew", "Paul", "Joshua", "Kenneth", "Kevin", "Brian", "George",
        "Jose", "Luis", "Wei", "Raj", "Omar", "Kwame", "Hiroshi", "Ahmed", "Diego", "Ivan", "Samuel", "Malik",
    ];

    public static readonly string[] Family =
    [
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez",
        "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
        "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott",
        "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter",
        "Patel", "Kim", "Chen", "Singh", "Okafor", "Mensah", "Tanaka", "Cohen", "Murphy", "O'Brien", "Novak", "Kowalski",
    ];
}
