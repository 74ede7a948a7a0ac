// name: building-pairs
// title: Poor audio streams between two buildings (caller's building -> callee's building)
// category: places
// description: Media lines whose caller end and callee end are both placed in a building of the
//   building data file (see `callgraph buildings`): per caller building and callee building, the
//   classified (good or poor) audio streams of those lines in both directions and the share that
//   was poor, poor / (poor + good), as the Call Quality Dashboard computes it. The Wi-Fi columns
//   count the streams of lines with a Wi-Fi end. The Call Quality Dashboard's "between building A
//   and building B" question: a pair that is poor while each building alone is fine points at
//   the link between the two sites. Pairs with fewer than minStreams classified streams are left out.
// param: minStreams int = 0 | example: 20 | pairs with fewer classified audio streams are left out
// param: since datetime = null | example: 2026-11-01T00:00:00Z | calls starting at or after this
// param: until datetime = null | example: 2026-11-08T00:00:00Z | calls starting before this
// param: limit int = 100 | most rows to return
//
// In Neo4j Browser, run these first:
// :param minStreams => 0
// :param since => null
// :param until => null
// :param limit => 100
// The calls: every one, read in store order, or those the startDateTime index finds in the window.
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
MATCH (c)-[:CONTAINS]->(:Session)-[:CONTAINS]->(:Segment)-[:CONTAINS]->(m:Media)
WHERE m.modality = 'audio' AND m.callerRatedStreams + m.calleeRatedStreams > 0
MATCH (m)-[:CALLER_AT]->(:Network)-[:IN_BUILDING]->(from:Building)
MATCH (m)-[:CALLEE_AT]->(:Network)-[:IN_BUILDING]->(to:Building)
WITH from.name AS callerBuilding, to.name AS calleeBuilding, m.callerRatedStreams + m.calleeRatedStreams AS rated,
     m.callerPoorStreams + m.calleePoorStreams AS poor,
     'wifi' IN [m.callerNetworkConnectionType, m.calleeNetworkConnectionType] AS wifi
WITH callerBuilding, calleeBuilding, sum(rated) AS streams, sum(poor) AS poorStreams,
     sum(CASE WHEN wifi THEN rated ELSE 0 END) AS wifiStreams, sum(CASE WHEN wifi THEN poor ELSE 0 END) AS wifiPoorStreams
WHERE streams >= $minStreams
RETURN callerBuilding, calleeBuilding, streams, poorStreams, round(toFloat(poorStreams) / streams, 3) AS poorRatio,
       wifiStreams, wifiPoorStreams,
       CASE WHEN wifiStreams > 0 THEN round(toFloat(wifiPoorStreams) / wifiStreams, 3) END AS wifiPoorRatio
ORDER BY poorRatio DESC, streams DESC, callerBuilding, calleeBuilding
LIMIT $limit
