// name: missing-subnets
// title: Subnets your building file does not map, busiest first
// category: places
// description: The subnets of client ends (a user's Teams client, not a conference server or a
//   gateway) that no row of the building data file loaded with `callgraph buildings` maps, with
//   at least minStreams audio streams (10, as the Call Quality Dashboard's missing subnets report):
//   what the admin must add to the file. streams counts the audio streams in which such an end
//   took part, classified and poorStreams the classified (good or poor) ones and the poor ones
//   among them, users names up to ten of the people seen there. Home and hotel networks show up
//   too: they are outside the corporate network and need no row.
// param: minStreams int = 10 | example: 50 | subnets with fewer audio streams are left out
// param: since datetime = null | example: 2026-11-01T00:00:00Z | calls starting at or after this
// param: until datetime = null | example: 2026-11-08T00:00:00Z | calls starting before this
// param: limit int = 100 | most rows to return
// param: fresh bool = false | read the calls even where the summaries are current (see callgraph summarize)
// summary: minStreams = 0
//
// In Neo4j Browser, run these first:
// :param minStreams => 10
// :param since => null
// :param until => null
// :param limit => 100
// :param fresh => false
// Without a window: the rows `callgraph summarize` kept, while no load has written call records
// (nor a building file been loaded) since (fresh = true reads the calls anyway). Otherwise the
// calls: every one, read in store order, or those the startDateTime index finds in the window.
OPTIONAL MATCH (state:Summaries {id: 'all'})
WITH $since IS NULL AND $until IS NULL AND NOT $fresh
     AND coalesce(state.builtFor = state.dataVersion, false) AS summarized
CALL (summarized) {
  WITH summarized WHERE summarized
  // (rank IS NOT NULL lets the (query, rank) index find the rows: no scan of every SummaryRow)
  MATCH (s:SummaryRow) WHERE s.query = 'missing-subnets' AND s.rank IS NOT NULL
  RETURN s.subnet AS subnet, s.streams AS streams, s.classified AS classified, s.poorStreams AS poorStreams,
         s.poorRatio AS poorRatio, s.users AS users
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
  MATCH (c)-[:CONTAINS]->(:Session)-[:CONTAINS]->(seg:Segment)-[:CONTAINS]->(m:Media)
  WHERE m.modality = 'audio'
  // the client ends no network holds (callerClient / calleeClient: see docs/graph-model.md)
  UNWIND [{subnet: m.callerNetworkSubnet, client: m.callerClient, placed: EXISTS { (m)-[:CALLER_AT]->() }, side: 'caller'},
          {subnet: m.calleeNetworkSubnet, client: m.calleeClient, placed: EXISTS { (m)-[:CALLEE_AT]->() }, side: 'callee'}] AS end
  WITH seg, m, end WHERE end.client AND NOT end.placed AND end.subnet IS NOT NULL
  OPTIONAL MATCH (seg)-[appearance:CALLER|CALLEE]->(who:Endpoint {kind: 'user'}) WHERE type(appearance) = toUpper(end.side)
  WITH end.subnet AS subnet, m, who
  WITH subnet, collect(DISTINCT m) AS lines, collect(DISTINCT who.displayName) AS seen
  WITH subnet, seen,
       reduce(n = 0, line IN lines | n + COUNT { (line)-[:CONTAINS]->(:Stream) }) AS streams,
       reduce(n = 0, line IN lines | n + line.callerRatedStreams + line.calleeRatedStreams) AS classified,
       reduce(n = 0, line IN lines | n + line.callerPoorStreams + line.calleePoorStreams) AS poorStreams
  WHERE streams >= $minStreams
  CALL (seen) {
    UNWIND seen AS name
    WITH name ORDER BY name
    RETURN collect(name)[..10] AS users
  }
  RETURN subnet, streams, classified, poorStreams,
         CASE WHEN classified > 0 THEN round(toFloat(poorStreams) / classified, 3) END AS poorRatio, users
  ORDER BY streams DESC, subnet
  LIMIT $limit
}
WITH * WHERE streams >= $minStreams
RETURN subnet, streams, classified, poorStreams, poorRatio, users
ORDER BY streams DESC, subnet
LIMIT $limit
