// name: who-calls-whom
// title: Who calls whom
// category: people
// description: Pairs of parties that call each other directly (peer-to-peer and PSTN sessions,
//   not meetings through a conferencing server): how many sessions, how many minutes in all,
//   and how many of those sessions had poor audio.
// param: since datetime = null | example: 2026-11-01T00:00:00Z | calls starting at or after this
// param: until datetime = null | example: 2026-11-08T00:00:00Z | calls starting before this
// param: limit int = 100 | most rows to return
// param: fresh bool = false | read the calls even where the summaries are current (see callgraph summarize)
// summary: as is
//
// In Neo4j Browser, run these first:
// :param since => null
// :param until => null
// :param limit => 100
// :param fresh => false
// Without a window: the rows `callgraph summarize` kept, while no load has written call records
// since (fresh = true reads the calls anyway). Otherwise the calls: every one, read in store order,
// or those the startDateTime index finds in the window.
OPTIONAL MATCH (state:Summaries {id: 'all'})
WITH $since IS NULL AND $until IS NULL AND NOT $fresh
     AND coalesce(state.builtFor = state.dataVersion, false) AS summarized
CALL (summarized) {
  WITH summarized WHERE summarized
  MATCH (s:SummaryRow) WHERE s.query = 'who-calls-whom' AND s.rank <= $limit
  RETURN s.caller AS caller, s.callerKind AS callerKind, s.callee AS callee,
         s.calleeKind AS calleeKind, s.sessions AS sessions, s.minutes AS minutes,
         s.poorSessions AS poorSessions
  UNION ALL
  WITH summarized WHERE NOT summarized
  CALL () {
    WITH $since IS NULL AND $until IS NULL AS everything WHERE everything
    MATCH (c:CallRecord)
    RETURN c
    UNION ALL
    WITH $since IS NOT NULL OR $until IS NOT NULL AS window WHERE window
    MATCH (c:CallRecord)
    WHERE c.startDateTime >= coalesce($since, datetime('0001-01-01T00:00:00Z'))
      AND c.startDateTime < coalesce($until, datetime('9999-12-31T00:00:00Z'))
    RETURN c
  }
  MATCH (c)-[:CONTAINS]->(s:Session)-[:CALLER]->(a:Endpoint)
  MATCH (s)-[:CALLEE]->(b:Endpoint)
  WHERE a.kind <> 'service' AND b.kind <> 'service'
  WITH a, b, count(s) AS sessions,
       sum(duration.inSeconds(s.startDateTime, s.endDateTime).seconds) AS seconds,
       count(CASE WHEN s.poorStreams > 0 THEN 1 END) AS poorSessions
  // Most pairs talk once or twice, so the order mostly rests on the names, and reading them for
  // every pair is most of the work. Pairs are grouped by their figures first: only the first
  // $limit groups (each holds a pair or more) can reach the top rows, and only theirs are named.
  // They are put in order once, below: here, where the groups come sorted, Neo4j 5.26 would sort
  // each group apart (PartialTop), which took 1.4 GB for the 90,000 pairs of 100,000 calls.
  WITH sessions, round(seconds / 60.0, 1) AS minutes, collect([a, b, poorSessions]) AS pairs
  ORDER BY sessions DESC, minutes DESC
  LIMIT $limit
  UNWIND pairs AS pair
  WITH pair[0] AS a, pair[1] AS b, sessions, minutes, pair[2] AS poorSessions
  RETURN coalesce(a.displayName, a.id, a.kind) AS caller, a.kind AS callerKind,
         coalesce(b.displayName, b.id, b.kind) AS callee, b.kind AS calleeKind,
         sessions, minutes, poorSessions
}
RETURN caller, callerKind, callee, calleeKind, sessions, minutes, poorSessions
ORDER BY sessions DESC, minutes DESC, caller, callee
LIMIT $limit
