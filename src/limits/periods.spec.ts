import {
  calendarDay,
  isKnownTimeZone,
  limitPeriods,
  nextMonth,
  periodRange,
  secondsUntil,
  startOfDay,
} from "./periods";

describe("limit periods", () => {
  it("keys a day in the time zone", () => {
    const instant = new Date("2026-12-31T23:30:00Z");

    expect(limitPeriods(instant, "UTC")).toEqual({
      rateWindow: Math.floor(instant.getTime() / 60_000),
      day: "2026-12-31",
      month: "2026-12",
    });
    expect(limitPeriods(instant, "Asia/Tokyo").day).toBe("2027-01-01");
    expect(limitPeriods(instant, "Asia/Tokyo").month).toBe("2027-01");
    expect(calendarDay(instant, "America/New_York")).toBe("2026-12-31");
  });

  it("turns the day at local midnight", () => {
    const beforeMidnight = new Date("2026-12-31T18:29:59.999Z");
    const atMidnight = new Date("2026-12-31T18:30:00.000Z");

    for (let round = 0; round < 3; round += 1) {
      expect(calendarDay(beforeMidnight, "Asia/Kolkata")).toBe("2026-12-31");
      expect(calendarDay(beforeMidnight, "Asia/Kolkata")).toBe("2026-12-31");
      expect(calendarDay(atMidnight, "Asia/Kolkata")).toBe("2027-01-01");
      expect(calendarDay(atMidnight, "Asia/Kolkata")).toBe("2027-01-01");
    }
    expect(calendarDay(atMidnight, "UTC")).toBe("2026-12-31");
  });

  it("finds local midnight", () => {
    expect(startOfDay("2027-01-01", "Asia/Tokyo")).toEqual(
      new Date("2026-12-31T15:00:00Z"),
    );
    expect(startOfDay("2026-07-01", "America/New_York")).toEqual(
      new Date("2026-07-01T04:00:00Z"),
    );
    // Berlin moves its clocks at 02:00, so the day still starts at midnight, one hour ahead of UTC.
    expect(startOfDay("2026-03-29", "Europe/Berlin")).toEqual(
      new Date("2026-03-28T23:00:00Z"),
    );
  });

  it("starts a day at the end of a midnight gap", () => {
    // On 2018-11-04 Sao Paulo skipped from 00:00 to 01:00, so the day began at 01:00 local time (UTC-2).
    expect(startOfDay("2018-11-04", "America/Sao_Paulo")).toEqual(
      new Date("2018-11-04T03:00:00Z"),
    );
  });

  it("ranges days and months", () => {
    expect(periodRange("day", "2026-02-28", "UTC")).toEqual({
      start: new Date("2026-02-28T00:00:00Z"),
      end: new Date("2026-03-01T00:00:00Z"),
    });
    expect(periodRange("month", "2026-12", "Asia/Tokyo")).toEqual({
      start: new Date("2026-11-30T15:00:00Z"),
      end: new Date("2026-12-31T15:00:00Z"),
    });
    expect(nextMonth("2026-12")).toBe("2027-01");
  });

  it("rounds waits up to whole seconds", () => {
    const now = new Date("2026-01-01T00:00:00.000Z");

    expect(secondsUntil(now, new Date("2026-01-01T00:00:00.001Z"))).toBe(1);
    expect(secondsUntil(now, new Date("2026-01-01T00:00:59.500Z"))).toBe(60);
    expect(secondsUntil(now, now)).toBe(1);
  });

  it("accepts only known time zones", () => {
    expect(isKnownTimeZone("Europe/Berlin")).toBe(true);
    expect(isKnownTimeZone("Mars/Olympus_Mons")).toBe(false);
  });
});
